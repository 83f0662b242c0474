import type { Entity } from '@backstage/catalog-model';
import {
  ApiBlueprint,
  coreExtensionData,
} from '@backstage/frontend-plugin-api';
import { createExtensionTester } from '@backstage/frontend-test-utils';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import plugin from './index';
import {
  datasetMigrationApi,
  datasetMigrationEntityCard,
  datasetMigrationPage,
} from './plugin';
import { DatasetMigrationClient, datasetMigrationApiRef } from './api';
import { migrationRouteRef, rootRouteRef } from './routes';

function entity(kind: string, annotations: Record<string, string>): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind,
    metadata: { name: 'x', annotations },
    spec: { type: 'dataset' },
  };
}

describe('dataset-migration plugin', () => {
  it('is the default export, with id dataset-migration and its three extensions', () => {
    expect(plugin.id).toBe('dataset-migration');
    expect(
      plugin.getExtension('entity-card:dataset-migration/dataset'),
    ).toBeDefined();
    expect(plugin.getExtension('page:dataset-migration')).toBeDefined();
    expect(plugin.getExtension('api:dataset-migration')).toBeDefined();
  });

  it('offers the card on any entity kind with the location annotation, and on no other', () => {
    const filter = createExtensionTester(datasetMigrationEntityCard).get(
      EntityCardBlueprint.dataRefs.filterFunction,
    );
    expect(filter).toBeDefined();
    const location = { 'dataset-migration.io/location': 's3://raw/plays' };

    expect(filter!(entity('Resource', location))).toBe(true);
    expect(filter!(entity('API', location))).toBe(true);
    expect(filter!(entity('Resource', {}))).toBe(false);
    expect(
      filter!(entity('Resource', { 'dataset-migration.io/location': '  ' })),
    ).toBe(false);
    expect(
      filter!(entity('Component', { 'dataset-migration.io/format': 'csv' })),
    ).toBe(false);
  });

  it('mounts the page at /dataset-migrations with a title, which makes the sidebar item', () => {
    const tester = createExtensionTester(datasetMigrationPage);
    expect(tester.get(coreExtensionData.routePath)).toBe('/dataset-migrations');
    expect(tester.get(coreExtensionData.title)).toBe('Dataset migrations');
    expect(tester.get(coreExtensionData.icon)).toBeDefined();
  });

  it('exposes the page and each migration’s page as routes', () => {
    expect(plugin.routes.root).toBe(rootRouteRef);
    expect(plugin.routes.migration).toBe(migrationRouteRef);
    expect(migrationRouteRef.path).toBe('/:id');
  });

  it('provides the REST client for datasetMigrationApiRef', () => {
    const factory = createExtensionTester(datasetMigrationApi).get(
      ApiBlueprint.dataRefs.factory,
    );
    expect(factory.api.id).toBe(datasetMigrationApiRef.id);
    const client = factory.factory({
      discoveryApi: { getBaseUrl: async () => 'http://x' },
      fetchApi: { fetch },
    });
    expect(client).toBeInstanceOf(DatasetMigrationClient);
  });
});

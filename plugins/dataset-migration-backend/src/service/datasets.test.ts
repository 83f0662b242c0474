import { mockCredentials } from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  MIGRATION_API_VERSION,
  MIGRATION_KIND,
  RELATION_HAS_MIGRATION,
  RELATION_MIGRATION_OF,
} from '@internal/backstage-plugin-dataset-migration-common';
import { DatasetResolver } from './datasets';

const DATASET = 'resource:default/plays';

function migrationEntity(name: string, relations: Entity['relations']): Entity {
  return {
    apiVersion: MIGRATION_API_VERSION,
    kind: MIGRATION_KIND,
    metadata: { name, namespace: 'default' },
    spec: {
      source: DATASET,
      target: { location: 's3://archive/plays' },
      strategy: 'bulk-copy',
      owner: 'user:default/jane',
    },
    relations,
  };
}

/** The catalog after processing: a dataset, two consumers, two migrations. */
const entities: Entity[] = [
  {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Resource',
    metadata: {
      name: 'plays',
      namespace: 'default',
      annotations: { 'dataset-migration.io/location': 's3://landing/plays' },
    },
    spec: { type: 'dataset', owner: 'group:default/data-platform' },
    relations: [
      { type: 'dependencyOf', targetRef: 'component:default/charts' },
      { type: RELATION_HAS_MIGRATION, targetRef: 'migration:default/plays-m1' },
      // Stitched before the processor stopped emitting dependsOn.
      { type: 'dependencyOf', targetRef: 'migration:default/plays-m0' },
    ],
  },
  {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'charts', namespace: 'default' },
    spec: { type: 'service', owner: 'group:default/analytics' },
    relations: [{ type: 'dependsOn', targetRef: DATASET }],
  },
  // Depends on the dataset, but the relation is not mirrored onto it.
  {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'recommendations', namespace: 'default' },
    spec: { type: 'service', owner: 'group:default/analytics' },
    relations: [{ type: 'dependsOn', targetRef: DATASET }],
  },
  migrationEntity('plays-m1', [
    { type: RELATION_MIGRATION_OF, targetRef: DATASET },
    { type: 'ownedBy', targetRef: 'user:default/jane' },
  ]),
  // Not reprocessed yet: still carries the old dependency edge.
  migrationEntity('plays-m0', [
    { type: 'dependsOn', targetRef: DATASET },
    { type: 'ownedBy', targetRef: 'user:default/jane' },
  ]),
];

describe('DatasetResolver', () => {
  const resolver = new DatasetResolver(catalogServiceMock({ entities }), {
    getEffectiveLocation: async () => undefined,
  });

  it('lists the entities that depend on the dataset as its consumers', async () => {
    const dataset = await resolver.resolve(DATASET, mockCredentials.user());
    expect(dataset.consumers).toEqual([
      'component:default/charts',
      'component:default/recommendations',
    ]);
  });

  it('never lists a Migration entity as a consumer', async () => {
    const { consumers } = await resolver.resolve(
      'Resource:default/Plays',
      mockCredentials.user(),
    );
    expect(consumers.filter(ref => ref.startsWith('migration:'))).toEqual([]);
  });
});

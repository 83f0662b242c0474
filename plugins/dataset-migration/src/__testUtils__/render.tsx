import type { Entity } from '@backstage/catalog-model';
import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import {
  EntityProvider,
  entityRouteRef,
} from '@backstage/plugin-catalog-react';
import {
  AuthorizeResult,
  type EvaluatePermissionRequest,
} from '@backstage/plugin-permission-common';
import type { ReactNode } from 'react';
import { datasetMigrationApiRef } from '../api';
import { rootRouteRef } from '../routes';
import type { FakeDatasetMigrationApi } from './FakeDatasetMigrationApi';

export const datasetEntity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Resource',
  metadata: {
    name: 'plays',
    namespace: 'default',
    annotations: {
      'dataset-migration.io/location': 's3://raw/plays',
      'dataset-migration.io/format': 'csv',
    },
  },
  spec: { type: 'dataset', owner: 'group:default/data' },
};

/**
 * Renders inside a test app with the fake API, a permission API that allows
 * (or denies) everything, and the catalog's entity route so links resolve.
 */
export function renderWithApis(
  element: ReactNode,
  options: {
    api: FakeDatasetMigrationApi;
    entity?: Entity;
    permission?: AuthorizeResult.ALLOW | AuthorizeResult.DENY;
    authorize?: (
      request: EvaluatePermissionRequest,
    ) => AuthorizeResult.ALLOW | AuthorizeResult.DENY;
    /** A route pattern to mount `element` on, e.g. `/dataset-migrations/:id`. */
    mountPath?: string;
    initialRouteEntries?: string[];
  },
) {
  const content = options.entity ? (
    <EntityProvider entity={options.entity}>{element}</EntityProvider>
  ) : (
    <>{element}</>
  );
  return renderInTestApp(content, {
    apis: [
      [datasetMigrationApiRef, options.api],
      mockApis.permission({
        authorize:
          options.authorize ?? options.permission ?? AuthorizeResult.ALLOW,
      }),
    ],
    mountedRoutes: {
      '/catalog/:namespace/:kind/:name': entityRouteRef,
      '/dataset-migrations': rootRouteRef,
    },
    mountPath: options.mountPath,
    initialRouteEntries: options.initialRouteEntries,
  });
}

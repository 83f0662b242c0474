import { createBackend } from '@backstage/backend-defaults';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';

// A standalone backend for working on this plugin: `yarn start` in this
// package. It reads the repository's app-config.yaml, so the `examples` and
// `targets` local roots (examples/data and .data/targets) are configured.
//
// Every request without a token acts as the guest user, who owns the sample
// dataset; permissions are allowed. Try:
//
//   curl localhost:7007/api/dataset-migration/health
//   curl localhost:7007/api/dataset-migration/migrations -H 'Content-Type: application/json' \
//     -d '{"dataset":"resource:default/plays-daily","target":{"location":"file://targets/plays-daily"}}'
//   curl localhost:7007/api/dataset-migration/migrations/<id>/approve -X POST
//   curl localhost:7007/api/dataset-migration/migrations/<id>/events
//   curl 'localhost:7007/api/dataset-migration/datasets/location?entityRef=resource:default/plays-daily'
//
// Unauthenticated, and as a service:
//
//   curl localhost:7007/api/dataset-migration/health -H 'Authorization: Bearer mock-none-token'
//   curl localhost:7007/api/dataset-migration/fleet -H 'Authorization: Bearer mock-service-token'

const guest = 'user:development/guest';

const backend = createBackend();

backend.add(mockServices.auth.factory());
backend.add(
  mockServices.httpAuth.factory({
    defaultCredentials: mockCredentials.user(guest),
  }),
);
// app-config.yaml enables the permission framework, but no permission backend
// runs here.
backend.add(
  mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
);

backend.add(
  catalogServiceMock.factory({
    entities: [
      {
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Resource',
        metadata: {
          name: 'plays-daily',
          namespace: 'default',
          title: 'Plays (daily partitions)',
          annotations: {
            'dataset-migration.io/location': 'file://examples/plays-daily',
            'dataset-migration.io/format': 'csv',
          },
        },
        spec: { type: 'dataset', owner: guest },
        relations: [
          {
            type: 'dependencyOf',
            targetRef: 'component:default/charts-service',
          },
        ],
      },
      {
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: { name: 'charts-service', namespace: 'default' },
        spec: { type: 'service', owner: guest, lifecycle: 'production' },
        relations: [
          { type: 'dependsOn', targetRef: 'resource:default/plays-daily' },
        ],
      },
    ],
  }),
);

backend.add(import('../src'));

backend.start();

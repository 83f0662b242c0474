/*
 * The example portal's backend: the Backstage core plugins the dataset
 * migration suite needs, plus every package of the suite.
 */
import { createBackend } from '@backstage/backend-defaults';
import { datasetOwnerPolicyModule } from './permissionPolicy';

const backend = createBackend();

backend.add(import('@backstage/plugin-app-backend'));
backend.add(import('@backstage/plugin-proxy-backend'));

// auth: guest sign-in for the example portal
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));

// catalog, with the Migration kind and the entity provider for migrations
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(
  import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
);
backend.add(import('@backstage/plugin-catalog-backend-module-logs'));
backend.add(
  import('@internal/backstage-plugin-catalog-backend-module-dataset-migration'),
);

// scaffolder, with the dataset-migration:create action
backend.add(import('@backstage/plugin-scaffolder-backend'));
backend.add(
  import(
    '@internal/backstage-plugin-scaffolder-backend-module-dataset-migration'
  ),
);

// permissions: dataset owners may migrate and roll back their datasets
backend.add(import('@backstage/plugin-permission-backend'));
backend.add(datasetOwnerPolicyModule);

// dataset migrations: REST API, engine, workers, local-filesystem storage,
// and the S3 and GCS storage backends (used when configured)
backend.add(import('@internal/backstage-plugin-dataset-migration-backend'));
backend.add(
  import('@internal/backstage-plugin-dataset-migration-backend-module-s3'),
);
backend.add(
  import('@internal/backstage-plugin-dataset-migration-backend-module-gcs'),
);

// search over the catalog
backend.add(import('@backstage/plugin-search-backend'));
backend.add(import('@backstage/plugin-search-backend-module-catalog'));

backend.add(import('@backstage/plugin-user-settings-backend'));
backend.add(import('@backstage/plugin-notifications-backend'));
backend.add(import('@backstage/plugin-signals-backend'));

backend.start();

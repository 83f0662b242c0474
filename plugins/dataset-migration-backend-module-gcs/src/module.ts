import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { datasetMigrationStorageExtensionPoint } from '@internal/backstage-plugin-dataset-migration-node';
import { GcsStorageBackend } from './GcsStorageBackend';
import { GCS_CONFIG_KEY } from './options';

/**
 * Adds the `gs://` storage backend to the dataset-migration plugin.
 *
 * @public
 */
export const datasetMigrationModuleGcs = createBackendModule({
  pluginId: 'dataset-migration',
  moduleId: 'gcs',
  register(reg) {
    reg.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        storage: datasetMigrationStorageExtensionPoint,
      },
      async init({ config, logger, storage }) {
        const backend = GcsStorageBackend.forAppConfig(config);
        if (!(backend instanceof GcsStorageBackend)) {
          logger.info(
            `GCS storage backend not configured: gs:// locations are refused until ${GCS_CONFIG_KEY} is set`,
          );
          storage.addStorageBackend(backend);
          return;
        }
        const { apiEndpoint, projectId, keyFilename, credentials } =
          backend.options;
        let auth = 'Application Default Credentials';
        if (apiEndpoint) {
          auth = 'none (custom endpoint)';
        } else if (credentials) {
          auth = 'inline credentials from app-config';
        } else if (keyFilename) {
          auth = 'a key file';
        }
        logger.info(
          `GCS storage backend ready (endpoint ${
            apiEndpoint ?? 'Google'
          }, project ${projectId ?? 'from credentials'}, auth ${auth})`,
        );
        storage.addStorageBackend(backend);
      },
    });
  },
});

import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { datasetMigrationStorageExtensionPoint } from '@internal/backstage-plugin-dataset-migration-node';
import { S3StorageBackend } from './S3StorageBackend';
import { S3_CONFIG_KEY } from './options';

/**
 * Adds the `s3://` storage backend to the dataset-migration plugin.
 *
 * @public
 */
export const datasetMigrationModuleS3 = createBackendModule({
  pluginId: 'dataset-migration',
  moduleId: 's3',
  register(reg) {
    reg.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        lifecycle: coreServices.lifecycle,
        storage: datasetMigrationStorageExtensionPoint,
      },
      async init({ config, logger, lifecycle, storage }) {
        const backend = S3StorageBackend.forAppConfig(config);
        if (!(backend instanceof S3StorageBackend)) {
          logger.info(
            `S3 storage backend not configured: s3:// locations are refused until ${S3_CONFIG_KEY} is set`,
          );
          storage.addStorageBackend(backend);
          return;
        }
        const { endpoint, region, credentials } = backend.options;
        logger.info(
          `S3 storage backend ready (endpoint ${
            endpoint ?? 'AWS'
          }, region ${region}, credentials from ${
            credentials ? 'app-config' : 'the AWS default provider chain'
          })`,
        );
        storage.addStorageBackend(backend);
        lifecycle.addShutdownHook(() => backend.destroy());
      },
    });
  },
});

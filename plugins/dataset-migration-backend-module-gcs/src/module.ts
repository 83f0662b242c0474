import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';

export const datasetMigrationModuleGcs = createBackendModule({
  pluginId: 'dataset-migration',
  moduleId: 'gcs',
  register(reg) {
    reg.registerInit({
      deps: { logger: coreServices.logger },
      async init({ logger }) {
        logger.info('Hello World!');
      },
    });
  },
});

import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';

export const datasetMigrationModuleS3 = createBackendModule({
  pluginId: 'dataset-migration',
  moduleId: 's3',
  register(reg) {
    reg.registerInit({
      deps: { logger: coreServices.logger },
      async init({ logger }) {
        logger.info('Hello World!');
      },
    });
  },
});

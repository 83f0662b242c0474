import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import {
  catalogProcessingExtensionPoint,
  catalogServiceRef,
} from '@backstage/plugin-catalog-node';
import { MigrationEntitiesProcessor } from './processor/MigrationEntitiesProcessor';
import { MigrationEntityProvider } from './provider/MigrationEntityProvider';

/**
 * Adds the `Migration` kind to the catalog and mirrors the migrations of the
 * dataset-migration backend as `Migration` entities.
 *
 * @public
 */
export const catalogModuleDatasetMigration = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'dataset-migration',
  register(reg) {
    reg.registerInit({
      deps: {
        catalogProcessing: catalogProcessingExtensionPoint,
        config: coreServices.rootConfig,
        discovery: coreServices.discovery,
        auth: coreServices.auth,
        logger: coreServices.logger,
        scheduler: coreServices.scheduler,
        catalog: catalogServiceRef,
      },
      async init({
        catalogProcessing,
        config,
        discovery,
        auth,
        logger,
        scheduler,
        catalog,
      }) {
        catalogProcessing.addProcessor(new MigrationEntitiesProcessor());
        catalogProcessing.addEntityProvider(
          MigrationEntityProvider.fromConfig(config, {
            discovery,
            auth,
            logger,
            scheduler,
            catalog,
          }),
        );
      },
    });
  },
});

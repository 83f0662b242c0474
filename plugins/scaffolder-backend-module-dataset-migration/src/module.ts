import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import {
  createDatasetMigrationApproveAction,
  createDatasetMigrationCreateAction,
} from './actions';

/**
 * Registers the `dataset-migration:create` and `dataset-migration:approve`
 * scaffolder actions.
 *
 * @public
 */
export const scaffolderModuleDatasetMigration = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'dataset-migration',
  register({ registerInit }) {
    registerInit({
      deps: {
        scaffolderActions: scaffolderActionsExtensionPoint,
        discovery: coreServices.discovery,
        auth: coreServices.auth,
        config: coreServices.rootConfig,
      },
      async init({ scaffolderActions, discovery, auth, config }) {
        const options = {
          discovery,
          auth,
          appBaseUrl: config.getString('app.baseUrl'),
        };
        scaffolderActions.addActions(
          createDatasetMigrationCreateAction(options),
          createDatasetMigrationApproveAction(options),
        );
      },
    });
  },
});

import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { notificationService } from '@backstage/plugin-notifications-node';
import { datasetMigrationPermissions } from '@internal/backstage-plugin-dataset-migration-common';
import {
  datasetMigrationStorageExtensionPoint,
  type StorageBackend,
} from '@internal/backstage-plugin-dataset-migration-node';
import { createLocalStorageBackend, createMigrationEngine } from './engine';
import { createRouter } from './router';
import {
  createDatasetAuthorizer,
  createDatasetReadFilter,
} from './service/authorize';
import { DatasetResolver } from './service/datasets';
import { LocationComparator } from './service/locations';
import { createMigrationNotifier } from './service/notifications';

/**
 * The dataset-migration backend plugin: REST API, migration engine and the
 * local-filesystem storage backend. Modules add more storage backends through
 * `datasetMigrationStorageExtensionPoint`.
 *
 * @public
 */
export const datasetMigrationPlugin = createBackendPlugin({
  pluginId: 'dataset-migration',
  register(env) {
    const moduleBackends: StorageBackend[] = [];
    env.registerExtensionPoint(datasetMigrationStorageExtensionPoint, {
      addStorageBackend(backend) {
        moduleBackends.push(backend);
      },
    });

    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        database: coreServices.database,
        lifecycle: coreServices.lifecycle,
        scheduler: coreServices.scheduler,
        httpAuth: coreServices.httpAuth,
        httpRouter: coreServices.httpRouter,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        catalog: catalogServiceRef,
        notifications: notificationService,
      },
      async init({
        config,
        logger,
        database,
        lifecycle,
        scheduler,
        httpAuth,
        httpRouter,
        permissions,
        permissionsRegistry,
        catalog,
        notifications,
      }) {
        permissionsRegistry.addPermissions(datasetMigrationPermissions);

        // Owners hear of approvals due, successes, failures and rollbacks;
        // consumers' owners of cutovers and rollbacks.
        let notifier: ReturnType<typeof createMigrationNotifier> | undefined;
        const engine = await createMigrationEngine({
          database,
          logger,
          config,
          backends: [createLocalStorageBackend(config), ...moduleBackends],
          onEvent: async event => notifier?.onEvent(event),
        });
        if (
          config.getOptionalBoolean('datasetMigration.notifications.enabled') ??
          true
        ) {
          notifier = createMigrationNotifier({
            notifications,
            migrations: engine,
            logger,
          });
        }
        lifecycle.addStartupHook(() => engine.start());
        lifecycle.addShutdownHook(() => engine.stop());
        // Backups outlive a success by the retention time, so a manual
        // rollback still works; one replica at a time purges them after.
        await scheduler.scheduleTask({
          id: 'dataset-migration-purge-expired-backups',
          scope: 'global',
          frequency: { milliseconds: engine.backupPurgeFrequencyMs },
          timeout: { hours: 1 },
          initialDelay: {
            milliseconds: Math.min(30_000, engine.backupPurgeFrequencyMs),
          },
          fn: async () => {
            const { purged } = await engine.purgeExpiredBackups();
            if (purged > 0) {
              logger.info(
                `Purged the expired backups of ${purged} migration(s)`,
              );
            }
          },
        });
        // Work items, events and reports of old migrations go after
        // datasetMigration.retention.dataAge, so the database does not grow
        // without bound; each migration stays with a summary.
        const dataPurgeFrequencyMs = engine.dataPurgeFrequencyMs;
        if (dataPurgeFrequencyMs !== undefined) {
          await scheduler.scheduleTask({
            id: 'dataset-migration-purge-expired-data',
            scope: 'global',
            frequency: { milliseconds: dataPurgeFrequencyMs },
            timeout: { hours: 1 },
            initialDelay: {
              milliseconds: Math.min(30_000, dataPurgeFrequencyMs),
            },
            fn: async signal => {
              const { purged } = await engine.purgeExpiredData(
                undefined,
                signal,
              );
              if (purged > 0) {
                logger.info(
                  `Purged the expired data of ${purged} migration(s)`,
                );
              }
            },
          });
        }

        httpRouter.use(
          await createRouter({
            httpAuth,
            logger,
            migrations: engine,
            datasets: new DatasetResolver(catalog, engine),
            authorize: createDatasetAuthorizer(permissions),
            readFilter: createDatasetReadFilter(permissions),
            locations: LocationComparator.fromConfig(config),
            checkDatabase: async () => {
              const knex = await database.getClient();
              await knex.raw('select 1');
            },
          }),
        );
      },
    });
  },
});

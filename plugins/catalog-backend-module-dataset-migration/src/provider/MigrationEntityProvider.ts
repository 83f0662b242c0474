import {
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
  type AuthService,
  type DiscoveryService,
  type LoggerService,
  type SchedulerService,
  type SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import type { Config } from '@backstage/config';
import { stringifyError } from '@backstage/errors';
import type {
  CatalogService,
  DeferredEntity,
  EntityProvider,
  EntityProviderConnection,
} from '@backstage/plugin-catalog-node';
import type { Migration } from '@internal/backstage-plugin-dataset-migration-common';
import { listAllMigrations } from './listAllMigrations';
import { migrationToEntity, ownerFromCreatedBy } from './migrationToEntity';

/** Config key of this provider's settings. */
export const PROVIDER_CONFIG_KEY = 'catalog.providers.datasetMigration';

const DEFAULT_SCHEDULE: SchedulerServiceTaskScheduleDefinition = {
  frequency: { seconds: 30 },
  timeout: { minutes: 3 },
  initialDelay: { seconds: 15 },
};

/** Claims every entity this provider emits, so it never fights another source. */
const LOCATION_KEY = 'MigrationEntityProvider';

/**
 * Options of {@link MigrationEntityProvider}.
 *
 * @public
 */
export interface MigrationEntityProviderOptions {
  discovery: DiscoveryService;
  auth: AuthService;
  logger: LoggerService;
  scheduler: SchedulerService;
  /** Used to find a dataset's owner when a migration was not created by a person. */
  catalog?: CatalogService;
  schedule?: SchedulerServiceTaskScheduleDefinition;
  /** Page size for `GET /migrations` (at most 500). */
  pageSize?: number;
}

/**
 * Mirrors the migrations stored by the dataset-migration backend as
 * `Migration` entities, so a migration created through the API shows up in
 * the catalog without a git round trip.
 *
 * @public
 */
export class MigrationEntityProvider implements EntityProvider {
  private connection?: EntityProviderConnection;
  private readonly logger: LoggerService;

  static fromConfig(
    config: Config,
    options: Omit<MigrationEntityProviderOptions, 'schedule' | 'pageSize'>,
  ): MigrationEntityProvider {
    const providerConfig = config.getOptionalConfig(PROVIDER_CONFIG_KEY);
    const schedule = providerConfig?.has('schedule')
      ? readSchedulerServiceTaskScheduleDefinitionFromConfig(
          providerConfig.getConfig('schedule'),
        )
      : DEFAULT_SCHEDULE;
    return new MigrationEntityProvider({
      ...options,
      schedule,
      pageSize: providerConfig?.getOptionalNumber('pageSize'),
    });
  }

  constructor(private readonly options: MigrationEntityProviderOptions) {
    this.logger = options.logger.child({ provider: this.getProviderName() });
  }

  getProviderName(): string {
    return 'MigrationEntityProvider';
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    await this.options.scheduler.scheduleTask({
      id: `${this.getProviderName()}:refresh`,
      // One replica refreshing is enough: the mutation lands in the shared DB.
      scope: 'global',
      ...(this.options.schedule ?? DEFAULT_SCHEDULE),
      fn: async () => {
        await this.refresh();
      },
    });
  }

  /**
   * Replaces the provider's entities with the backend's current migrations.
   * When the backend cannot be read, the previous entities are kept: an
   * empty full mutation would delete every Migration from the catalog during
   * a mere outage.
   *
   * @returns the number of entities applied, or `undefined` if nothing was.
   */
  async refresh(): Promise<number | undefined> {
    if (!this.connection) {
      throw new Error(`${this.getProviderName()} is not connected yet`);
    }

    let result: Awaited<ReturnType<typeof listAllMigrations>>;
    try {
      result = await listAllMigrations(this.options);
    } catch (error) {
      this.logger.warn(
        `Could not read migrations from the dataset-migration backend; keeping the Migration entities of the last successful refresh. ${stringifyError(
          error,
        )}`,
      );
      return undefined;
    }

    const owners = await this.resolveOwners(result.migrations);
    const entities: DeferredEntity[] = [];
    for (const migration of result.migrations) {
      try {
        entities.push({
          entity: migrationToEntity(migration, {
            baseUrl: result.baseUrl,
            owner: owners.get(migration.id) ?? migration.createdBy,
          }),
          locationKey: LOCATION_KEY,
        });
      } catch (error) {
        this.logger.warn(
          `Skipping migration ${migration.id} of ${
            migration.dataset
          }: ${stringifyError(error)}`,
        );
      }
    }

    await this.connection.applyMutation({ type: 'full', entities });
    this.logger.debug(`Applied ${entities.length} Migration entities`);
    return entities.length;
  }

  /**
   * The owner is the person who requested the migration; migrations started
   * by a service fall back to the dataset's owner.
   */
  private async resolveOwners(
    migrations: Migration[],
  ): Promise<Map<string, string>> {
    const owners = new Map<string, string>();
    const orphans: Migration[] = [];
    for (const migration of migrations) {
      const owner = ownerFromCreatedBy(migration.createdBy);
      if (owner) {
        owners.set(migration.id, owner);
      } else {
        orphans.push(migration);
      }
    }
    const { catalog, auth } = this.options;
    if (!catalog || orphans.length === 0) {
      return owners;
    }

    try {
      const refs = [...new Set(orphans.map(m => m.dataset))];
      const { items } = await catalog.getEntitiesByRefs(
        { entityRefs: refs, fields: ['spec.owner'] },
        { credentials: await auth.getOwnServiceCredentials() },
      );
      const datasetOwners = new Map<string, string>();
      refs.forEach((ref, i) => {
        const owner = items[i]?.spec?.owner;
        if (typeof owner === 'string' && owner) {
          datasetOwners.set(ref, owner);
        }
      });
      for (const migration of orphans) {
        const owner = datasetOwners.get(migration.dataset);
        if (owner) {
          owners.set(migration.id, owner);
        }
      }
    } catch (error) {
      this.logger.warn(
        `Could not look up dataset owners in the catalog; using createdBy as owner. ${stringifyError(
          error,
        )}`,
      );
    }
    return owners;
  }
}

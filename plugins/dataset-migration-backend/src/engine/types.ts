import type {
  DatabaseService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import type { Config } from '@backstage/config';
import type { StorageBackend } from '@internal/backstage-plugin-dataset-migration-node';
import type { NewEvent } from '../database/EventStore';
import type { MigrationService } from '../service/types';

/**
 * The migration engine: the REST-facing {@link MigrationService} plus the
 * lifecycle of this replica's background workers.
 */
export interface MigrationEngine extends MigrationService {
  /** Starts the background workers; resumes every unfinished migration. */
  start(): Promise<void>;
  /**
   * Stops claiming; waits for in-flight items. `abandon: true` drops in-flight
   * work without any cleanup or DB update (simulates a crashed replica, for
   * tests).
   */
  stop(options?: { abandon?: boolean }): Promise<void>;
  /**
   * Removes the backups of migrations that finished more than
   * `datasetMigration.backups.retention` before `now`; run by a scheduled
   * task with `scope: 'global'` (one replica at a time).
   */
  purgeExpiredBackups(now?: number): Promise<{ purged: number }>;
  /** How often the purge should run (`datasetMigration.backups.purgeFrequency`). */
  readonly backupPurgeFrequencyMs: number;
  /**
   * Deletes the work items, events and report of migrations that finished
   * more than `datasetMigration.retention.dataAge` before `now` and can no
   * longer be rolled back, keeping each migration with a summary; run by a
   * scheduled task with `scope: 'global'`, and safe if two replicas run it
   * at once. Does nothing when retention is disabled. `signal` stops it
   * between two statements (the task's timeout); the next run goes on.
   */
  purgeExpiredData(
    now?: number,
    signal?: AbortSignal,
  ): Promise<{ purged: number }>;
  /**
   * How often the data purge should run (`datasetMigration.retention.frequency`),
   * or undefined when retention is disabled.
   */
  readonly dataPurgeFrequencyMs?: number;
}

/** Test seams; production code never sets them. */
export interface MigrationEngineHooks {
  /** Runs after every object was copied and before validation starts. */
  beforeValidate?(migrationId: string): Promise<void>;
}

export interface MigrationEngineOptions {
  /**
   * coreServices.database; runs knex migrate.latest unless
   * backend.database.migrations.skip / database.migrations.skip
   */
  database: DatabaseService;
  logger: LoggerService;
  /** Root config; reads the datasetMigration.* keys. */
  config: Config;
  /** From the extension point, plus the local one. */
  backends: StorageBackend[];
  /** Defaults to hostname+pid+random. */
  workerId?: string;
  hooks?: MigrationEngineHooks;
  /**
   * Sees every audit-log event this replica appends (state changes, steps),
   * e.g. to send notifications. Called without waiting; errors are ignored.
   */
  onEvent?: (event: NewEvent) => Promise<void>;
}

import { createApiRef } from '@backstage/frontend-plugin-api';
import type {
  CreateMigrationRequest,
  DatasetFormat,
  FleetStatus,
  Migration,
  MigrationEvent,
  MigrationState,
  ValidationReport,
} from '@internal/backstage-plugin-dataset-migration-common';

/** Filter of {@link DatasetMigrationApi.listMigrations}. @public */
export interface ListMigrationsOptions {
  /** Entity ref of the dataset. */
  dataset?: string;
  state?: MigrationState;
  /** Entity ref of the dataset's owner when planned; the kind defaults to group. */
  owner?: string;
  limit?: number;
  offset?: number;
}

/** Effective location of a dataset (after any cutover). @public */
export interface DatasetLocationResponse {
  entityRef: string;
  location: string;
  /** Format there (a schema-transform may have changed it). */
  format?: DatasetFormat;
  /** Id of the migration whose cutover moved the dataset here, if any. */
  migratedBy?: string;
}

// The actions a user can take on an existing migration: the one list in
// -common, next to the states each applies to (MIGRATION_ACTION_RULES).
export type { MigrationAction } from '@internal/backstage-plugin-dataset-migration-common';

/**
 * Client of the dataset-migration backend's REST API. Every method throws a
 * `ResponseError` from `@backstage/errors` when the API answers with an error.
 *
 * @public
 */
export interface DatasetMigrationApi {
  /** Creates and plans a migration (dry run, no writes). */
  createMigration(request: CreateMigrationRequest): Promise<Migration>;
  listMigrations(
    options?: ListMigrationsOptions,
  ): Promise<{ items: Migration[]; totalCount: number }>;
  getMigration(id: string): Promise<Migration>;
  /** Events with an id greater than `after`, oldest first. */
  listEvents(
    id: string,
    options?: { after?: number; limit?: number },
  ): Promise<{ items: MigrationEvent[] }>;
  /** The validation report, or undefined while the migration is not validated. */
  getReport(id: string): Promise<ValidationReport | undefined>;
  approveMigration(id: string, reason?: string): Promise<Migration>;
  cancelMigration(id: string, reason?: string): Promise<Migration>;
  rollbackMigration(id: string, reason?: string): Promise<Migration>;
  retryMigration(id: string, reason?: string): Promise<Migration>;
  getFleetStatus(): Promise<FleetStatus>;
  getDatasetLocation(entityRef: string): Promise<DatasetLocationResponse>;
}

/** @public */
export const datasetMigrationApiRef = createApiRef<DatasetMigrationApi>().with({
  id: 'plugin.dataset-migration.service',
  pluginId: 'dataset-migration',
});

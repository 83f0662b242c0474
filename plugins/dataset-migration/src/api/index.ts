export { DatasetMigrationClient } from './DatasetMigrationClient';
export { datasetMigrationApiRef } from './DatasetMigrationApi';
export type {
  DatasetLocationResponse,
  DatasetMigrationApi,
  ListMigrationsOptions,
  MigrationAction,
} from './DatasetMigrationApi';

export {
  createDatasetMigrationCreateAction,
  CREATE_MIGRATION_ACTION_ID,
} from './createMigration';
export {
  createDatasetMigrationApproveAction,
  APPROVE_MIGRATION_ACTION_ID,
} from './approveMigration';

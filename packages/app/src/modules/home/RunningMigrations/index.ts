export {
  RunningMigrations,
  RunningMigrationsActions,
} from './RunningMigrations';

export { MigrationActions } from './MigrationActions';

export { MigrationLogs } from './MigrationLogs';

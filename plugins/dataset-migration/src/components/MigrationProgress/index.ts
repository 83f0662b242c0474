export { MigrationProgress } from './MigrationProgress';

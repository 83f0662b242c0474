export { DatasetMigrationCard } from './DatasetMigrationCard';

export { LatestMigration } from './LatestMigration';

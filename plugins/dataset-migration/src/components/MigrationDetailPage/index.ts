export { MigrationDetail, MigrationDetailPage } from './MigrationDetailPage';

export { MigrateDialog } from './MigrateDialog';

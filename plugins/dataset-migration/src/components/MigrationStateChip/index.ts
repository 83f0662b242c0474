export { MigrationStateChip } from './MigrationStateChip';

export type {
  MigrationEngine,
  MigrationEngineHooks,
  MigrationEngineOptions,
} from './types';
export { createMigrationEngine } from './MigrationEngine';
export { createLocalStorageBackend } from '../storage/local/LocalStorageBackend';

/**
 * Scaffolder actions that plan and approve dataset migrations through the
 * dataset-migration backend.
 *
 * @packageDocumentation
 */

export { scaffolderModuleDatasetMigration as default } from './module';
export * from './actions';

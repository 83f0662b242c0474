/**
 * The GCS storage backend module for the dataset-migration plugin.
 *
 * @packageDocumentation
 */

export { datasetMigrationModuleGcs as default } from './module';
export { GcsStorageBackend } from './GcsStorageBackend';
export type { GcsBackendOptions } from './options';
export { readGcsOptions } from './options';

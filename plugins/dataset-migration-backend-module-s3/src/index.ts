/**
 * The S3 storage backend module for the dataset-migration plugin.
 *
 * @packageDocumentation
 */

export { datasetMigrationModuleS3 as default } from './module';
export { S3StorageBackend } from './S3StorageBackend';
export type { S3BackendOptions } from './options';
export { readS3Options } from './options';
export { PartBudget } from './PartBudget';
export type { PartBuffer, ReleasePart } from './PartBudget';

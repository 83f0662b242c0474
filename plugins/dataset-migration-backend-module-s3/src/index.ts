/***/
/**
 * The s3 backend module for the dataset-migration plugin.
 *
 * @packageDocumentation
 */

export { datasetMigrationModuleS3 as default } from './module';

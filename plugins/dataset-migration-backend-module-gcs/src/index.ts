/***/
/**
 * The gcs backend module for the dataset-migration plugin.
 *
 * @packageDocumentation
 */

export { datasetMigrationModuleGcs as default } from './module';

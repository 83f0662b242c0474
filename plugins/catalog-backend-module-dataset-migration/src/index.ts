/***/
/**
 * The dataset-migration backend module for the catalog plugin.
 *
 * @packageDocumentation
 */

export { catalogModuleDatasetMigration as default } from './module';

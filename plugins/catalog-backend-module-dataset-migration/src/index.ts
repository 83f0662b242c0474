/**
 * Catalog backend module for dataset migrations: the `Migration` kind and an
 * entity provider that mirrors the dataset-migration backend's migrations.
 *
 * @packageDocumentation
 */

export { catalogModuleDatasetMigration as default } from './module';
export { MigrationEntitiesProcessor } from './processor/MigrationEntitiesProcessor';
export {
  MigrationEntityProvider,
  type MigrationEntityProviderOptions,
} from './provider/MigrationEntityProvider';

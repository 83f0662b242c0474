/**
 * Frontend of the dataset-migration plugins: an entity card to migrate and
 * roll back datasets, and a page listing all migrations and the worker fleet.
 *
 * @packageDocumentation
 */
export { datasetMigrationPlugin as default } from './plugin';
export {
  datasetMigrationPlugin,
  datasetMigrationApi,
  datasetMigrationEntityCard,
  datasetMigrationPage,
} from './plugin';
export { isDatasetMigrationAvailable } from './filters';
export { FleetSummary } from './components/FleetSummary';
export * from './api';

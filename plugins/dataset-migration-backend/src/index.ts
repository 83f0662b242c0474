/**
 * Backend plugin for dataset migrations: REST API, engine and workers.
 *
 * @packageDocumentation
 */
export { datasetMigrationPlugin as default } from './plugin';

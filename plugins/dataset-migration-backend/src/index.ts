export { datasetMigrationPlugin as default } from './plugin';

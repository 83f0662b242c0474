export { datasetsModule } from './datasetsModule';
export { datasetsRouteRef } from './routes';
export { datasetCatalogFilter } from './DatasetFilter';

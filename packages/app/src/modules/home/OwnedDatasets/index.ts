export { OwnedDatasets, OwnedDatasetsActions } from './OwnedDatasets';

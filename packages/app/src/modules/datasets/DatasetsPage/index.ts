export { DatasetsPage } from './DatasetsPage';

import {
  createFrontendModule,
  PageBlueprint,
} from '@backstage/frontend-plugin-api';
import StorageIcon from '@material-ui/icons/Storage';
import { datasetsRouteRef } from './routes';

/**
 * `page:app/datasets` at `/datasets`: the catalog's datasets, Resource and
 * API kinds together (the catalog index page filters on one kind at a time).
 * Its title and icon make it a sidebar item.
 */
const datasetsPage = PageBlueprint.make({
  name: 'datasets',
  params: {
    path: '/datasets',
    title: 'Datasets',
    icon: <StorageIcon fontSize="inherit" />,
    routeRef: datasetsRouteRef,
    loader: () => import('./DatasetsPage').then(m => <m.DatasetsPage />),
  },
});

export const datasetsModule = createFrontendModule({
  pluginId: 'app',
  extensions: [datasetsPage],
});

import {
  ApiBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
  PageBlueprint,
} from '@backstage/frontend-plugin-api';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import SyncAltIcon from '@material-ui/icons/SyncAlt';
import { DatasetMigrationClient, datasetMigrationApiRef } from './api';
import { isDatasetMigrationAvailable } from './filters';
import { migrationRouteRef, rootRouteRef } from './routes';

/**
 * The REST client, `api:dataset-migration`.
 *
 * @public
 */
export const datasetMigrationApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: datasetMigrationApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new DatasetMigrationClient({ discoveryApi, fetchApi }),
    }),
});

/**
 * The dataset card, `entity-card:dataset-migration/dataset`, offered on
 * entities that carry the `dataset-migration.io/location` annotation.
 *
 * @public
 */
export const datasetMigrationEntityCard = EntityCardBlueprint.make({
  name: 'dataset',
  params: {
    filter: isDatasetMigrationAvailable,
    loader: () =>
      import('./components/DatasetMigrationCard').then(m => (
        <m.DatasetMigrationCard />
      )),
  },
});

/**
 * The migrations page, `page:dataset-migration`, at `/dataset-migrations`,
 * with the page of each migration at `/dataset-migrations/:id`; its title and
 * icon make it a sidebar item.
 *
 * @public
 */
export const datasetMigrationPage = PageBlueprint.make({
  params: {
    path: '/dataset-migrations',
    title: 'Dataset migrations',
    icon: <SyncAltIcon fontSize="inherit" />,
    routeRef: rootRouteRef,
    loader: () => import('./components/Router').then(m => <m.Router />),
  },
});

/**
 * The dataset-migration frontend plugin (new frontend system).
 *
 * @public
 */
export const datasetMigrationPlugin = createFrontendPlugin({
  pluginId: 'dataset-migration',
  title: 'Dataset migrations',
  icon: <SyncAltIcon fontSize="inherit" />,
  extensions: [
    datasetMigrationApi,
    datasetMigrationEntityCard,
    datasetMigrationPage,
  ],
  routes: {
    root: rootRouteRef,
    migration: migrationRouteRef,
  },
});

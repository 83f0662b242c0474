import {
  createFrontendPlugin,
  PageBlueprint,
} from '@backstage/frontend-plugin-api';

import { rootRouteRef } from './routes';

export const page = PageBlueprint.make({
  params: {
    path: '/dataset-migration',
    routeRef: rootRouteRef,
    loader: () =>
      import('./components/TodoPage').then(m => (
        <m.TodoPage />
      )),
  },
});

export const datasetMigrationPlugin = createFrontendPlugin({
  pluginId: 'dataset-migration',
  extensions: [page],
  routes: {
    root: rootRouteRef,
  }
});

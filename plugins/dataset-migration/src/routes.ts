import {
  createRouteRef,
  createSubRouteRef,
} from '@backstage/frontend-plugin-api';

/** The migrations page, `/dataset-migrations`. */
export const rootRouteRef = createRouteRef();

/**
 * The page of one migration, `/dataset-migrations/:id`: the scaffolder
 * template's output and the notifications link there.
 */
export const migrationRouteRef = createSubRouteRef({
  parent: rootRouteRef,
  path: '/:id',
});

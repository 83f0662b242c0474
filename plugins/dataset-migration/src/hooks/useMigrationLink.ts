import { useRouteRef } from '@backstage/frontend-plugin-api';
import { useCallback } from 'react';
import { migrationDetailHref } from '../migrationStatus';
import { migrationRouteRef } from '../routes';

/**
 * The href of a migration's detail page: from the route ref where the
 * plugin's page is mounted, else the page's default path.
 */
export function useMigrationLink(): (id: string) => string {
  const detail = useRouteRef(migrationRouteRef);
  return useCallback(
    (id: string) => (detail ? detail({ id }) : migrationDetailHref(id)),
    [detail],
  );
}

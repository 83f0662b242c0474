import { EntityRefLink } from '@backstage/plugin-catalog-react';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import type { Migration } from '@internal/backstage-plugin-dataset-migration-common';
import { isFinalState } from '../../format';
import { useDatasetPermissions } from '../../hooks/useDatasetPermissions';
import { neverStarted } from '../../migrationStatus';
import { MigrationActions } from '../MigrationActions';

/**
 * The actions the migration's state allows, permission-checked against its
 * dataset. One that stopped before writing anything offers none (see
 * `neverStarted`), so the page says what to do instead.
 */
export const DetailActions = (props: {
  migration: Migration;
  onChange: (migration: Migration) => void;
}) => {
  const { migration } = props;
  const permissions = useDatasetPermissions(migration.dataset);
  return (
    <Box>
      <MigrationActions
        migration={migration}
        permissions={permissions}
        onChange={props.onChange}
      />
      {isFinalState(migration.state) && neverStarted(migration) && (
        <Typography variant="body2" color="textSecondary">
          Nothing to roll back or retry; to migrate{' '}
          <EntityRefLink entityRef={migration.dataset} /> now, plan a new
          migration.
        </Typography>
      )}
    </Box>
  );
};

import { Link, Progress, WarningPanel } from '@backstage/core-components';
import { useApi, useRouteRef } from '@backstage/frontend-plugin-api';
import { EntityRefLink } from '@backstage/plugin-catalog-react';
import {
  datasetMigrationApiRef,
  datasetMigrationPlugin,
} from '@internal/backstage-plugin-dataset-migration';
import type { Migration } from '@internal/backstage-plugin-dataset-migration-common';
import Box from '@material-ui/core/Box';
import LinearProgress from '@material-ui/core/LinearProgress';
import List from '@material-ui/core/List';
import ListItem from '@material-ui/core/ListItem';
import ListItemText from '@material-ui/core/ListItemText';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { useCallback } from 'react';
import { usePolledValue } from '../usePolledValue';

// The theme keeps list item text on one line; descriptions and locations wrap.
const useStyles = makeStyles({
  text: { whiteSpace: 'normal', overflowWrap: 'anywhere' },
});

const REFRESH_INTERVAL_MS = 10_000;
const LIMIT = 10;

/** Share of the copy done; by bytes, or by objects while sizes are unknown. */
function percentDone({ progress }: Migration): number {
  const [done, total] =
    progress.totalBytes > 0
      ? [progress.doneBytes, progress.totalBytes]
      : [progress.doneItems, progress.totalItems];
  return total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
}

/** Content of the "Migrations running" home page widget. */
export const RunningMigrations = (props: { refreshIntervalMs?: number }) => {
  const api = useApi(datasetMigrationApiRef);
  const migrationsLink = useRouteRef(datasetMigrationPlugin.routes.root);
  const classes = useStyles();
  const load = useCallback(
    () => api.listMigrations({ state: 'running', limit: LIMIT }),
    [api],
  );
  const { value, error, loading } = usePolledValue(load, {
    intervalMs: props.refreshIntervalMs ?? REFRESH_INTERVAL_MS,
  });

  if (loading) {
    return <Progress />;
  }
  return (
    <>
      {error && (
        <WarningPanel
          severity="error"
          title="Could not load the running migrations"
          message={error.message}
        />
      )}
      {value && value.items.length === 0 && (
        <Typography variant="body2" color="textSecondary">
          No migration is running.
        </Typography>
      )}
      {value && value.items.length > 0 && (
        <List dense disablePadding aria-label="Migrations running">
          {value.items.map(migration => {
            const percent = percentDone(migration);
            return (
              <ListItem key={migration.id} disableGutters divider>
                <ListItemText
                  className={classes.text}
                  disableTypography
                  primary={
                    <Typography variant="body2">
                      <EntityRefLink entityRef={migration.dataset} /> →{' '}
                      <code>{migration.target.location}</code>
                    </Typography>
                  }
                  secondary={
                    <Box mt={0.5}>
                      <LinearProgress
                        variant="determinate"
                        value={percent}
                        aria-label={`Progress of migration ${migration.id}`}
                      />
                      <Typography variant="caption" color="textSecondary">
                        {migration.step ?? 'starting'} · {percent}% ·{' '}
                        {migration.progress.doneItems}/
                        {migration.progress.totalItems} objects ·{' '}
                        {migrationsLink ? (
                          <Link
                            to={`${migrationsLink()}/${encodeURIComponent(
                              migration.id,
                            )}`}
                          >
                            migration {migration.id}
                          </Link>
                        ) : (
                          <>migration {migration.id}</>
                        )}
                      </Typography>
                    </Box>
                  }
                />
              </ListItem>
            );
          })}
        </List>
      )}
      {value && value.totalCount > value.items.length && (
        <Typography variant="caption" color="textSecondary">
          {value.totalCount - value.items.length} more running.
        </Typography>
      )}
    </>
  );
};

/** The widget's footer: the migrations page, with every state. */
export const RunningMigrationsActions = () => {
  const migrationsLink = useRouteRef(datasetMigrationPlugin.routes.root);
  if (!migrationsLink) {
    return <></>;
  }
  return <Link to={migrationsLink()}>All migrations</Link>;
};

import {
  Content,
  Progress,
  ResponseErrorPanel,
  Table,
  type TableColumn,
} from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import { EntityRefLink } from '@backstage/plugin-catalog-react';
import Box from '@material-ui/core/Box';
import Grid from '@material-ui/core/Grid';
import LinearProgress from '@material-ui/core/LinearProgress';
import Typography from '@material-ui/core/Typography';
import type {
  FleetStatus,
  Migration,
} from '@internal/backstage-plugin-dataset-migration-common';
import { useCallback, useEffect, useState } from 'react';
import { datasetMigrationApiRef } from '../../api';
import { formatBytes, formatTimestamp } from '../../format';
import { usePolling } from '../../hooks/usePolling';
import { FleetSummary } from '../FleetSummary';
import { MigrationStateChip } from '../MigrationStateChip';

const REFRESH_INTERVAL_MS = 5000;
const PAGE_SIZE = 100;

function percent(done: number, total: number) {
  return total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
}

const columns: TableColumn<Migration>[] = [
  {
    title: 'Dataset',
    field: 'dataset',
    render: m => <EntityRefLink entityRef={m.dataset} />,
  },
  {
    title: 'State',
    field: 'state',
    render: m => (
      <>
        <MigrationStateChip state={m.state} />
        {m.step && (
          <Typography variant="caption" display="block">
            {m.step}
          </Typography>
        )}
      </>
    ),
  },
  {
    title: 'Progress',
    sorting: false,
    render: m => (
      <Box minWidth={160}>
        <LinearProgress
          variant="determinate"
          value={percent(m.progress.doneBytes, m.progress.totalBytes)}
        />
        <Typography variant="caption">
          {m.progress.doneItems}/{m.progress.totalItems} objects,{' '}
          {formatBytes(m.progress.doneBytes)}/
          {formatBytes(m.progress.totalBytes)}
        </Typography>
      </Box>
    ),
  },
  {
    title: 'Target',
    field: 'target.location',
    render: m => <code>{m.target.location}</code>,
  },
  { title: 'Created by', field: 'createdBy' },
  {
    title: 'Created at',
    field: 'createdAt',
    defaultSort: 'desc',
    render: m => formatTimestamp(m.createdAt),
  },
];

/** All migrations, newest first, and the state of the worker fleet. */
export const MigrationsPage = (props: { refreshIntervalMs?: number }) => {
  const api = useApi(datasetMigrationApiRef);
  const [migrations, setMigrations] = useState<{
    items: Migration[];
    totalCount: number;
  }>();
  const [fleet, setFleet] = useState<FleetStatus>();
  const [error, setError] = useState<Error>();

  const load = useCallback(async () => {
    try {
      const [list, status] = await Promise.all([
        api.listMigrations({ limit: PAGE_SIZE }),
        api.getFleetStatus(),
      ]);
      setMigrations(list);
      setFleet(status);
      setError(undefined);
    } catch (e) {
      setError(e as Error);
    }
  }, [api]);

  useEffect(() => {
    load();
  }, [load]);
  usePolling(load, {
    intervalMs: props.refreshIntervalMs ?? REFRESH_INTERVAL_MS,
    enabled: true,
  });

  return (
    <Content>
      <Grid container spacing={3}>
        {error && (
          <Grid item xs={12}>
            <ResponseErrorPanel error={error} />
          </Grid>
        )}
        {!migrations && !error && <Progress />}
        {fleet && (
          <Grid item xs={12}>
            <FleetSummary fleet={fleet} />
          </Grid>
        )}
        {migrations && (
          <Grid item xs={12}>
            <Table<Migration>
              title={
                migrations.totalCount > migrations.items.length
                  ? `Latest ${migrations.items.length} of ${migrations.totalCount} migrations`
                  : `Migrations (${migrations.totalCount})`
              }
              options={{ paging: migrations.items.length > 20, pageSize: 20 }}
              columns={columns}
              data={migrations.items}
            />
          </Grid>
        )}
      </Grid>
    </Content>
  );
};

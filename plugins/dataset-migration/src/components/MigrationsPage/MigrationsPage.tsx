import {
  Link,
  Progress,
  ResponseErrorPanel,
  Table,
  type TableColumn,
} from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import { EntityRefLink } from '@backstage/plugin-catalog-react';
import { Container, Header } from '@backstage/ui';
import Box from '@material-ui/core/Box';
import Grid from '@material-ui/core/Grid';
import LinearProgress from '@material-ui/core/LinearProgress';
import Typography from '@material-ui/core/Typography';
import type {
  FleetStatus,
  Migration,
} from '@internal/backstage-plugin-dataset-migration-common';
import {
  type MouseEvent,
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import { useNavigate } from 'react-router-dom';
import { datasetMigrationApiRef } from '../../api';
import {
  formatBytes,
  formatDuration,
  formatNumber,
  formatShortTimestamp,
  formatTimestamp,
  isFinalState,
  secondsBetween,
} from '../../format';
import { useMigrationLink } from '../../hooks/useMigrationLink';
import { usePolling } from '../../hooks/usePolling';
import {
  activeStep,
  plannedSize,
  stepCompletion,
  visibleSteps,
} from '../../migrationStatus';
import { humanizeActor } from '../ActorName';
import { FleetSummary } from '../FleetSummary';
import { MigrationStateChip } from '../MigrationStateChip';
import {
  MigrationFilters,
  type MigrationFilterValues,
} from './MigrationFilters';

const REFRESH_INTERVAL_MS = 5000;
const PAGE_SIZE = 100;

/** Seconds from creation to the final state, or until now while it runs. */
function durationSeconds(m: Migration): number | undefined {
  if (m.finishedAt) {
    return secondsBetween(m.createdAt, m.finishedAt);
  }
  return isFinalState(m.state) ? undefined : secondsBetween(m.createdAt);
}

/** The step running now (or the last one), or the plan before any began. */
const ProgressCell = (props: { migration: Migration }) => {
  const m = props.migration;
  const steps = visibleSteps(m);
  if (steps.length === 0) {
    const planned = plannedSize(m);
    // A final one without steps stopped at plan review or in the queue.
    return (
      <Typography variant="caption">
        {isFinalState(m.state) ? 'Nothing written' : 'Not started'}
        {planned && ` (planned: ${planned})`}
      </Typography>
    );
  }
  const active = activeStep(m);
  const { step, progress: p } =
    steps.find(s => s.step === active) ?? steps[steps.length - 1];
  return (
    <Box minWidth={140}>
      <LinearProgress
        variant="determinate"
        value={stepCompletion(p)}
        aria-label={`${step} progress`}
      />
      <Typography variant="caption">
        {step}: {formatNumber(p.doneItems)}/{formatNumber(p.totalItems)}{' '}
        objects, {formatBytes(p.doneBytes)}/{formatBytes(p.totalBytes)}
        {p.failedItems > 0 && `, ${formatNumber(p.failedItems)} failed`}
      </Typography>
    </Box>
  );
};

const columns = (
  migrationLink: (id: string) => string,
): TableColumn<Migration>[] => [
  {
    title: 'Dataset',
    field: 'dataset',
    render: m => (
      <>
        <EntityRefLink entityRef={m.dataset} />
        {m.datasetOwner && (
          <Typography variant="caption" display="block">
            owned by{' '}
            <EntityRefLink
              entityRef={m.datasetOwner}
              defaultKind="group"
              hideIcon
            />
          </Typography>
        )}
      </>
    ),
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
    render: m => <ProgressCell migration={m} />,
  },
  {
    title: 'Target',
    field: 'target.location',
    render: m => (
      <code style={{ overflowWrap: 'anywhere' }}>{m.target.location}</code>
    ),
  },
  {
    title: 'Created',
    field: 'createdAt',
    defaultSort: 'desc',
    render: m => (
      <>
        <Link to={migrationLink(m.id)} title={`Migration ${m.id}`}>
          {formatShortTimestamp(m.createdAt)}
        </Link>
        <Typography variant="caption" display="block" title={m.createdBy}>
          by {humanizeActor(m.createdBy)}
        </Typography>
      </>
    ),
  },
  {
    title: 'Finished',
    field: 'finishedAt',
    render: m =>
      m.finishedAt ? (
        <span title={formatTimestamp(m.finishedAt)}>
          {formatShortTimestamp(m.finishedAt)}
        </span>
      ) : (
        '—'
      ),
  },
  {
    title: 'Duration',
    customSort: (a, b) =>
      (durationSeconds(a) ?? -1) - (durationSeconds(b) ?? -1),
    render: m => {
      const seconds = durationSeconds(m);
      if (seconds === undefined) {
        return '—';
      }
      return m.finishedAt
        ? formatDuration(seconds)
        : `${formatDuration(seconds)} so far`;
    },
  },
];

/** Whether a click in a row was meant for a link or button in it. */
function clickedControl(event?: MouseEvent): boolean {
  const target = event?.target as HTMLElement | undefined;
  return !!target?.closest?.('a, button');
}

function union(known: string[], more: Array<string | undefined>): string[] {
  const all = new Set(known);
  more.forEach(ref => ref && all.add(ref));
  return all.size === known.length ? known : [...all].sort();
}

/**
 * All migrations, newest first, filtered by state, dataset and owner, and
 * the state of the worker fleet. A row opens the migration's detail page.
 */
export const MigrationsPage = (props: { refreshIntervalMs?: number }) => {
  const api = useApi(datasetMigrationApiRef);
  const [filters, setFilters] = useState<MigrationFilterValues>({});
  const [migrations, setMigrations] = useState<{
    items: Migration[];
    totalCount: number;
  }>();
  const [fleet, setFleet] = useState<FleetStatus>();
  const [error, setError] = useState<Error>();
  const [known, setKnown] = useState({
    datasets: [] as string[],
    owners: [] as string[],
  });
  // Answers to an earlier filter must not replace those to the current one.
  const request = useRef(0);
  const navigate = useNavigate();
  const migrationLink = useMigrationLink();
  const tableColumns = useMemo(() => columns(migrationLink), [migrationLink]);

  const load = useCallback(async () => {
    const mine = ++request.current;
    try {
      const [list, status] = await Promise.all([
        api.listMigrations({ ...filters, limit: PAGE_SIZE }),
        api.getFleetStatus(),
      ]);
      if (mine !== request.current) {
        return;
      }
      setMigrations(list);
      setFleet(status);
      setKnown(k => ({
        datasets: union(
          k.datasets,
          list.items.map(m => m.dataset),
        ),
        owners: union(
          k.owners,
          list.items.map(m => m.datasetOwner),
        ),
      }));
      setError(undefined);
    } catch (e) {
      if (mine === request.current) {
        setError(e as Error);
      }
    }
  }, [api, filters]);

  useEffect(() => {
    load();
  }, [load]);
  usePolling(load, {
    intervalMs: props.refreshIntervalMs ?? REFRESH_INTERVAL_MS,
    enabled: true,
  });

  const filtered = !!(filters.state || filters.dataset || filters.owner);
  let title = 'Migrations';
  if (migrations) {
    const what = filtered ? 'matching migrations' : 'migrations';
    title =
      migrations.totalCount > migrations.items.length
        ? `Latest ${migrations.items.length} of ${migrations.totalCount} ${what}`
        : `${filtered ? 'Matching migrations' : 'Migrations'} (${
            migrations.totalCount
          })`;
  }

  return (
    <>
      <Header
        title="All migrations"
        description="Every dataset migration, newest first. Filter by state, dataset or owner; open a row for its plan, progress, report and log."
      />
      <Container>
        <Grid container spacing={3}>
          {error && (
            <Grid item xs={12}>
              <ResponseErrorPanel error={error} />
            </Grid>
          )}
          {fleet && (
            <Grid item xs={12}>
              <FleetSummary fleet={fleet} />
            </Grid>
          )}
          <Grid item xs={12}>
            <MigrationFilters
              value={filters}
              onChange={setFilters}
              datasets={known.datasets}
              owners={known.owners}
            />
          </Grid>
          {!migrations && !error && (
            <Grid item xs={12}>
              <Progress />
            </Grid>
          )}
          {migrations && (
            <Grid item xs={12}>
              <Table<Migration>
                title={title}
                options={{
                  paging: migrations.items.length > 20,
                  pageSize: 20,
                  search: false,
                  padding: 'dense',
                }}
                columns={tableColumns}
                data={migrations.items}
                onRowClick={(event, row) => {
                  if (row && !clickedControl(event)) {
                    navigate(migrationLink(row.id));
                  }
                }}
                emptyContent={
                  <Box p={2}>
                    <Typography variant="body2">
                      {filtered
                        ? 'No migration matches these filters.'
                        : 'No dataset has been migrated yet.'}
                    </Typography>
                  </Box>
                }
              />
            </Grid>
          )}
        </Grid>
      </Container>
    </>
  );
};

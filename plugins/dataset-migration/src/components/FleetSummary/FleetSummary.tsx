import { InfoCard } from '@backstage/core-components';
import Box from '@material-ui/core/Box';
import Chip from '@material-ui/core/Chip';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import type {
  FleetErrorRate,
  FleetStatus,
  FleetWorker,
} from '@internal/backstage-plugin-dataset-migration-common';
import { formatBytes, formatNumber, formatTimestamp } from '../../format';

const useStyles = makeStyles(theme => ({
  gone: {
    color: theme.palette.text.disabled,
  },
  goneChip: {
    marginLeft: theme.spacing(1),
    color: theme.palette.text.secondary,
  },
}));

const Stat = (props: { label: string; value: string }) => (
  <Box mr={4} mb={1}>
    <Typography variant="h5" aria-label={props.label}>
      {props.value}
    </Typography>
    <Typography variant="body2" color="textSecondary">
      {props.label}
    </Typography>
  </Box>
);

/** 0.0123 → "1.2%", 0.5 → "50%", 0 → "0%"; no attempts → "—". */
function formatRate(errors: FleetErrorRate): string {
  if (errors.attempts === 0) {
    return '—';
  }
  const percent = errors.rate * 100;
  if (percent === 0) {
    return '0%';
  }
  return `${percent.toFixed(percent < 10 ? 1 : 0)}%`;
}

function plural(count: number, one: string, many: string) {
  return `${formatNumber(count)} ${count === 1 ? one : many}`;
}

/** What a replica holds now, then when it was last seen. */
function workerDetails(worker: FleetWorker): string {
  const gone = worker.state === 'gone';
  const parts: string[] = [];
  if (!gone) {
    parts.push(`${formatNumber(worker.inFlight)} in flight`);
  }
  // A replica that just died keeps its leases until they expire.
  if (worker.leasedItems !== undefined && (!gone || worker.leasedItems > 0)) {
    parts.push(`${plural(worker.leasedItems, 'item', 'items')} leased`);
  }
  if (
    worker.drivenMigrations !== undefined &&
    (!gone || worker.drivenMigrations > 0)
  ) {
    parts.push(
      `drives ${plural(worker.drivenMigrations, 'migration', 'migrations')}`,
    );
  }
  if (worker.stoppedAt) {
    parts.push(`stopped ${formatTimestamp(worker.stoppedAt)}`);
  } else {
    parts.push(`last seen ${formatTimestamp(worker.lastSeenAt)}`);
  }
  return parts.join(', ');
}

/**
 * Queue depth, in-flight work, replicas, throughput and error rate of the
 * worker fleet. Replicas that stopped or stopped heart-beating are listed as
 * gone for a while, and not counted as workers.
 */
export const FleetSummary = (props: { fleet: FleetStatus }) => {
  const { fleet } = props;
  const classes = useStyles();
  const byState = Object.entries(fleet.migrations)
    .filter(([, count]) => (count ?? 0) > 0)
    .map(([state, count]) => `${state}: ${formatNumber(count ?? 0)}`)
    .join(' · ');
  // Backends that predate `state` list only live replicas.
  const active = fleet.workers.filter(w => w.state !== 'gone');
  const gone = fleet.workers.length - active.length;
  return (
    <InfoCard title="Worker fleet">
      <Box display="flex" flexWrap="wrap">
        <Stat label="Queue depth" value={formatNumber(fleet.queueDepth)} />
        <Stat label="In flight" value={formatNumber(fleet.inFlight)} />
        <Stat label="Workers" value={formatNumber(active.length)} />
        <Stat
          label="Objects per minute"
          value={formatNumber(Math.round(fleet.throughput.itemsPerMinute))}
        />
        <Stat
          label="Bytes per minute"
          value={formatBytes(fleet.throughput.bytesPerMinute)}
        />
        {fleet.errors && (
          <Stat label="Error rate" value={formatRate(fleet.errors)} />
        )}
      </Box>
      {fleet.errors && fleet.errors.attempts > 0 && (
        <Typography variant="body2" color="textSecondary">
          Copy attempts in the last minute:{' '}
          {formatNumber(fleet.errors.attempts)}, of which{' '}
          {formatNumber(fleet.errors.retried)} will be retried and{' '}
          {formatNumber(fleet.errors.failed)} failed for good
        </Typography>
      )}
      {byState && (
        <Typography variant="body2" color="textSecondary">
          Migrations by state: {byState}
        </Typography>
      )}
      {gone > 0 && (
        <Typography variant="body2" color="textSecondary">
          {plural(gone, 'replica', 'replicas')} gone in the last hour
        </Typography>
      )}
      {fleet.workers.length > 0 && (
        <Box component="ul" mt={1} mb={0} pl={2}>
          {fleet.workers.map(worker => {
            const isGone = worker.state === 'gone';
            return (
              <li
                key={worker.id}
                data-testid={`fleet-worker-${worker.id}`}
                className={isGone ? classes.gone : undefined}
              >
                <Typography variant="body2" color="inherit" component="div">
                  <code>{worker.id}</code>
                  {isGone && (
                    <Chip
                      size="small"
                      variant="outlined"
                      label="gone"
                      className={classes.goneChip}
                    />
                  )}
                  : {workerDetails(worker)}
                </Typography>
              </li>
            );
          })}
        </Box>
      )}
    </InfoCard>
  );
};

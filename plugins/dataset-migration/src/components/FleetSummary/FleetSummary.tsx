import { InfoCard } from '@backstage/core-components';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import type { FleetStatus } from '@internal/backstage-plugin-dataset-migration-common';
import { formatBytes, formatNumber, formatTimestamp } from '../../format';

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

/** Queue depth, in-flight work, workers and throughput of the worker fleet. */
export const FleetSummary = (props: { fleet: FleetStatus }) => {
  const { fleet } = props;
  const byState = Object.entries(fleet.migrations)
    .filter(([, count]) => (count ?? 0) > 0)
    .map(([state, count]) => `${state}: ${formatNumber(count ?? 0)}`)
    .join(' · ');
  return (
    <InfoCard title="Worker fleet">
      <Box display="flex" flexWrap="wrap">
        <Stat label="Queue depth" value={formatNumber(fleet.queueDepth)} />
        <Stat label="In flight" value={formatNumber(fleet.inFlight)} />
        <Stat label="Workers" value={formatNumber(fleet.workers.length)} />
        <Stat
          label="Objects per minute"
          value={formatNumber(Math.round(fleet.throughput.itemsPerMinute))}
        />
        <Stat
          label="Bytes per minute"
          value={formatBytes(fleet.throughput.bytesPerMinute)}
        />
      </Box>
      {byState && (
        <Typography variant="body2" color="textSecondary">
          Migrations by state: {byState}
        </Typography>
      )}
      {fleet.workers.length > 0 && (
        <Box component="ul" mt={1} mb={0} pl={2}>
          {fleet.workers.map(worker => (
            <li key={worker.id}>
              <Typography variant="body2">
                <code>{worker.id}</code>: {formatNumber(worker.inFlight)} in
                flight, last seen {formatTimestamp(worker.lastSeenAt)}
              </Typography>
            </li>
          ))}
        </Box>
      )}
    </InfoCard>
  );
};

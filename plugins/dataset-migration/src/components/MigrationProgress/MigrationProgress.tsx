import Box from '@material-ui/core/Box';
import LinearProgress from '@material-ui/core/LinearProgress';
import Typography from '@material-ui/core/Typography';
import type { MigrationProgress as Progress } from '@internal/backstage-plugin-dataset-migration-common';
import { formatBytes, formatNumber } from '../../format';

function percent(done: number, total: number): number {
  if (total <= 0) {
    return 0;
  }
  return Math.min(100, Math.round((done / total) * 100));
}

const Bar = (props: { label: string; text: string; value: number }) => (
  <Box mb={1}>
    <Box display="flex" justifyContent="space-between">
      <Typography variant="body2">{props.label}</Typography>
      <Typography variant="body2" color="textSecondary">
        {props.text}
      </Typography>
    </Box>
    <LinearProgress
      variant="determinate"
      value={props.value}
      aria-label={props.label}
    />
  </Box>
);

/** Item and byte progress bars of a migration. */
export const MigrationProgress = (props: { progress: Progress }) => {
  const { totalItems, doneItems, failedItems, totalBytes, doneBytes } =
    props.progress;
  const failed = failedItems > 0 ? `, ${formatNumber(failedItems)} failed` : '';
  return (
    <Box>
      <Bar
        label="Objects"
        value={percent(doneItems, totalItems)}
        text={`${formatNumber(doneItems)} / ${formatNumber(
          totalItems,
        )}${failed} (${percent(doneItems, totalItems)}%)`}
      />
      <Bar
        label="Bytes"
        value={percent(doneBytes, totalBytes)}
        text={`${formatBytes(doneBytes)} / ${formatBytes(
          totalBytes,
        )} (${percent(doneBytes, totalBytes)}%)`}
      />
    </Box>
  );
};

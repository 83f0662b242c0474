import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import type { Migration } from '@internal/backstage-plugin-dataset-migration-common';
import { formatTimestamp } from '../../format';
import { MigrationProgress } from '../MigrationProgress';

/** What the steps without item counters are doing. */
const ACTIVITY: Record<string, string> = {
  preflight: 'Checking that the source and the target can be reached',
  snapshot: 'Listing the source',
  cutover: 'Cutting the dataset over to the target',
};

/**
 * The counted steps (copy or transform, validate, rollback) with objects,
 * bytes, throughput and time left, plus what the uncounted steps are doing
 * and when the migration was cut over and finished.
 */
export const ProgressSection = (props: { migration: Migration }) => {
  const { migration } = props;
  const activity =
    migration.state === 'running' && migration.step
      ? ACTIVITY[migration.step]
      : undefined;
  const rolledBack =
    migration.state === 'rolling-back' || migration.state === 'rolled-back';
  return (
    <Box data-testid="progress-section">
      {activity && (
        <Typography variant="body2" gutterBottom>
          {activity}
          {migration.stepStartedAt &&
            ` (since ${formatTimestamp(migration.stepStartedAt)})`}
          …
        </Typography>
      )}
      <MigrationProgress migration={migration} />
      {migration.cutoverAt && (
        <Typography variant="body2" color="textSecondary">
          Cut over on {formatTimestamp(migration.cutoverAt)}
          {rolledBack && ', reverted by the rollback'}
        </Typography>
      )}
      {migration.finishedAt && (
        <Typography variant="body2" color="textSecondary">
          Finished on {formatTimestamp(migration.finishedAt)}
        </Typography>
      )}
    </Box>
  );
};

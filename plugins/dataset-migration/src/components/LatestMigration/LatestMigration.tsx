import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import type {
  Migration,
  ValidationReport,
} from '@internal/backstage-plugin-dataset-migration-common';
import { formatTimestamp, isFinalState } from '../../format';
import type { DatasetPermissions } from '../../hooks/useDatasetPermissions';
import { MigrationActions } from '../MigrationActions';
import { MigrationLogs } from '../MigrationLogs';
import { MigrationProgress } from '../MigrationProgress';
import { MigrationStateChip } from '../MigrationStateChip';
import { ValidationReportSummary } from '../ValidationReportSummary';

/** State, progress, report, actions and live log of one migration. */
export const LatestMigration = (props: {
  migration: Migration;
  report?: ValidationReport;
  permissions: DatasetPermissions;
  pollIntervalMs: number;
  onChange: (migration: Migration) => void;
}) => {
  const { migration, report } = props;
  return (
    <Box>
      <Box display="flex" alignItems="center" flexWrap="wrap" mb={1}>
        <Typography variant="subtitle1">Latest migration</Typography>
        <Box ml={1}>
          <MigrationStateChip state={migration.state} />
        </Box>
        {migration.step && (
          <Box ml={1}>
            <Typography variant="body2" color="textSecondary">
              step: {migration.step}
            </Typography>
          </Box>
        )}
      </Box>
      <Typography variant="body2">
        to <code>{migration.target.location}</code>
        {migration.target.format && ` (${migration.target.format})`}
      </Typography>
      <Typography variant="body2" color="textSecondary" gutterBottom>
        started by {migration.createdBy} on{' '}
        {formatTimestamp(migration.createdAt)}
      </Typography>
      {migration.reason && (
        <Typography
          variant="body2"
          color={migration.state === 'failed' ? 'error' : 'textSecondary'}
          gutterBottom
        >
          {migration.reason}
        </Typography>
      )}
      <MigrationProgress progress={migration.progress} />
      {report && (
        <Box my={1}>
          <ValidationReportSummary report={report} />
        </Box>
      )}
      <MigrationActions
        migration={migration}
        permissions={props.permissions}
        onChange={props.onChange}
      />
      <Box mt={2}>
        <MigrationLogs
          migrationId={migration.id}
          live={!isFinalState(migration.state)}
          pollIntervalMs={props.pollIntervalMs}
        />
      </Box>
    </Box>
  );
};

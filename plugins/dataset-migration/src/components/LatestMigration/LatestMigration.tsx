import { Link } from '@backstage/core-components';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { Alert, AlertTitle } from '@material-ui/lab';
import type {
  Migration,
  ValidationReport,
} from '@internal/backstage-plugin-dataset-migration-common';
import { formatNumber, formatTimestamp, isFinalState } from '../../format';
import type { DatasetPermissions } from '../../hooks/useDatasetPermissions';
import { useMigrationLink } from '../../hooks/useMigrationLink';
import { neverStarted } from '../../migrationStatus';
import { ActorName } from '../ActorName';
import { MigrationActions } from '../MigrationActions';
import { MigrationLogs } from '../MigrationLogs';
import { MigrationProgress } from '../MigrationProgress';
import { MigrationStateChip } from '../MigrationStateChip';
import { PlanPreview } from '../PlanPreview';
import { ValidationReportSummary } from '../ValidationReportSummary';

/** What a rollback undid, in words, from what the migration records. */
function rollbackSummary(m: Migration): string {
  const overwrites = m.plan?.overwrites.count ?? 0;
  const restored =
    overwrites > 0
      ? ` and the ${formatNumber(overwrites)} target object(s) it ${
          m.cutoverAt ? 'overwrote' : 'was to overwrite'
        } restored from their backups`
      : '';
  const where = m.cutoverAt
    ? `The dataset, cut over on ${formatTimestamp(m.cutoverAt)}, points at ${
        m.source.location
      } again.`
    : `The dataset was never cut over and stayed at ${m.source.location}.`;
  return `What the migration wrote to ${m.target.location} was deleted${restored}. ${where}`;
}

/**
 * The report of a migration that was rolled back describes data that is gone:
 * one quiet line, not the pass/fail summary.
 */
const ReportBeforeRollback = (props: { report: ValidationReport }) => (
  <Typography
    variant="body2"
    color="textSecondary"
    data-testid="report-before-rollback"
  >
    Before the rollback, validation {props.report.passed ? 'passed' : 'failed'}{' '}
    ({formatNumber(props.report.objects.checked)} objects checked,{' '}
    {formatTimestamp(props.report.checkedAt)}).
  </Typography>
);

const StateBody = (props: {
  migration: Migration;
  report?: ValidationReport;
}) => {
  const { migration: m, report } = props;
  if (m.state === 'planned' || m.state === 'awaiting-approval') {
    return (
      <Box my={1}>
        <Typography variant="body2" gutterBottom>
          Nothing has been written yet. Review the plan, then approve it to
          start {m.strategy === 'schema-transform' ? 'transforming' : 'copying'}
          .
        </Typography>
        {m.plan ? (
          <PlanPreview plan={m.plan} />
        ) : (
          <Typography variant="body2" color="error">
            The backend returned no plan for this migration.
          </Typography>
        )}
      </Box>
    );
  }
  if (m.state === 'rolling-back' || m.state === 'rolled-back') {
    const done = m.state === 'rolled-back';
    return (
      <Box my={1}>
        <Alert severity="info" data-testid="rollback-summary">
          <AlertTitle>
            {done
              ? `Rolled back${
                  m.finishedAt ? ` on ${formatTimestamp(m.finishedAt)}` : ''
                }`
              : 'Rolling back'}
          </AlertTitle>
          {done
            ? rollbackSummary(m)
            : `Deleting what the migration wrote to ${m.target.location} and restoring what it overwrote; the dataset then points at ${m.source.location} again.`}
        </Alert>
        <Box mt={1}>
          <MigrationProgress migration={m} />
        </Box>
        {report && <ReportBeforeRollback report={report} />}
      </Box>
    );
  }
  if (isFinalState(m.state) && neverStarted(m)) {
    return (
      <Typography variant="body2" color="textSecondary" gutterBottom>
        It stopped before anything was written, so there is nothing to roll back
        or resume. Migrate plans a new migration.
      </Typography>
    );
  }
  return (
    <>
      <MigrationProgress migration={m} />
      {report && (
        <Box my={1}>
          <ValidationReportSummary report={report} />
        </Box>
      )}
    </>
  );
};

/** State, progress or plan, report, actions and live log of one migration. */
export const LatestMigration = (props: {
  migration: Migration;
  report?: ValidationReport;
  permissions: DatasetPermissions;
  pollIntervalMs: number;
  onChange: (migration: Migration) => void;
}) => {
  const { migration, report } = props;
  const migrationLink = useMigrationLink();
  return (
    <Box data-testid="latest-migration">
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
        <Box ml="auto">
          <Link to={migrationLink(migration.id)}>Details</Link>
        </Box>
      </Box>
      <Typography variant="body2" style={{ overflowWrap: 'anywhere' }}>
        to <code>{migration.target.location}</code>
        {migration.target.format && ` (${migration.target.format})`}
      </Typography>
      <Typography variant="body2" color="textSecondary" gutterBottom>
        started by <ActorName actor={migration.createdBy} /> on{' '}
        {formatTimestamp(migration.createdAt)}
        {migration.finishedAt &&
          `, finished ${formatTimestamp(migration.finishedAt)}`}
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
      <StateBody migration={migration} report={report} />
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

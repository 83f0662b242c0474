import Box from '@material-ui/core/Box';
import LinearProgress from '@material-ui/core/LinearProgress';
import Typography from '@material-ui/core/Typography';
import type {
  Migration,
  StepProgress,
} from '@internal/backstage-plugin-dataset-migration-common';
import { formatBytes, formatDuration, formatNumber } from '../../format';
import {
  activeStep,
  type CountedStep,
  plannedSize,
  stepCompletion,
  visibleSteps,
} from '../../migrationStatus';

function stepLabel(step: CountedStep, migration: Migration): string {
  if (step === 'copy') {
    return migration.strategy === 'schema-transform' ? 'Transform' : 'Copy';
  }
  return step === 'validate' ? 'Validate' : 'Rollback';
}

/**
 * "1.2 MiB/s · about 3m left", measured since the step began. Undefined
 * until there is something to measure.
 */
export function throughput(
  p: StepProgress,
  stepStartedAt: string,
  now: number,
): string | undefined {
  const elapsed = (now - Date.parse(stepStartedAt)) / 1000;
  const byBytes = p.totalBytes > 0;
  const done = byBytes ? p.doneBytes : p.doneItems;
  const total = byBytes ? p.totalBytes : p.totalItems;
  if (!(elapsed >= 1) || done <= 0) {
    return undefined;
  }
  const rate = done / elapsed;
  const rateText = byBytes
    ? `${formatBytes(rate)}/s`
    : `${formatNumber(Math.round(rate * 10) / 10)} objects/s`;
  const left = (total - done) / rate;
  return left < 1
    ? `${rateText} · almost done`
    : `${rateText} · about ${formatDuration(left)} left`;
}

const StepBar = (props: {
  label: string;
  progress: StepProgress;
  active: boolean;
  rate?: string;
}) => {
  const { progress: p } = props;
  const value = stepCompletion(p);
  return (
    <Box mb={1} data-testid={`step-${props.label.toLocaleLowerCase('en-US')}`}>
      <Box display="flex" justifyContent="space-between" flexWrap="wrap">
        <Typography
          variant="body2"
          style={{ fontWeight: props.active ? 500 : undefined }}
        >
          {props.label}
          {props.active && ' (running)'}
        </Typography>
        <Typography variant="body2" color="textSecondary">
          {formatNumber(p.doneItems)} / {formatNumber(p.totalItems)} objects ·{' '}
          {formatBytes(p.doneBytes)} / {formatBytes(p.totalBytes)} ({value}%)
        </Typography>
      </Box>
      <LinearProgress
        variant="determinate"
        value={value}
        aria-label={props.label}
      />
      {(props.rate || p.failedItems > 0) && (
        <Box display="flex" justifyContent="space-between" flexWrap="wrap">
          <Typography variant="caption" color="textSecondary">
            {props.rate}
          </Typography>
          {p.failedItems > 0 && (
            <Typography variant="caption" color="error">
              {formatNumber(p.failedItems)} failed
            </Typography>
          )}
        </Box>
      )}
    </Box>
  );
};

/**
 * One bar per step that began (copy, validate, rollback), with counts and
 * sizes, and the throughput and time left of the step that is running.
 * Before any step began it says what is planned instead of showing 0 / 0.
 */
export const MigrationProgress = (props: {
  migration: Migration;
  /** The time to measure throughput against (tests); defaults to now. */
  now?: number;
}) => {
  const { migration } = props;
  const steps = visibleSteps(migration);
  const active = activeStep(migration);
  if (steps.length === 0) {
    const planned = plannedSize(migration);
    return planned ? (
      <Typography variant="body2" color="textSecondary" gutterBottom>
        Planned: {planned}; nothing copied yet.
      </Typography>
    ) : null;
  }
  const now = props.now ?? Date.now();
  return (
    <Box data-testid="migration-progress">
      {steps.map(({ step, progress }) => (
        <StepBar
          key={step}
          label={stepLabel(step, migration)}
          progress={progress}
          active={step === active}
          rate={
            step === active && migration.stepStartedAt
              ? throughput(progress, migration.stepStartedAt, now)
              : undefined
          }
        />
      ))}
    </Box>
  );
};

import type {
  Migration,
  StepProgress,
} from '@internal/backstage-plugin-dataset-migration-common';
import { formatBytes, formatNumber } from './format';

/** The steps whose items the API counts (`progress.steps`). */
export type CountedStep = 'copy' | 'validate' | 'rollback';

/** Where the detail page of a migration lives. */
export function migrationDetailHref(id: string): string {
  return `/dataset-migrations/${encodeURIComponent(id)}`;
}

/** 0–100: by bytes, which say more about the time left, when there are any. */
export function stepCompletion(p: StepProgress): number {
  const [done, total] =
    p.totalBytes > 0
      ? [p.doneBytes, p.totalBytes]
      : [p.doneItems, p.totalItems];
  return total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
}

/** The counted step whose items are being worked on right now, if any. */
export function activeStep(m: Migration): CountedStep | undefined {
  if (m.state === 'rolling-back') {
    return 'rollback';
  }
  if (m.state !== 'running') {
    return undefined;
  }
  // A schema-transform rewrites the objects in the copy stage.
  if (m.step === 'copy') {
    return 'copy';
  }
  return m.step === 'validate' ? 'validate' : undefined;
}

/**
 * The per-step counters. A backend without `progress.steps` only reports the
 * items' current stage, so that is filed under the stage the state implies.
 */
function stepsOf(m: Migration): Partial<Record<CountedStep, StepProgress>> {
  if (m.progress.steps) {
    return m.progress.steps;
  }
  if (m.progress.totalItems === 0) {
    return {};
  }
  let stage: CountedStep = 'copy';
  if (m.state === 'rolling-back' || m.state === 'rolled-back') {
    stage = 'rollback';
  } else if (
    m.state === 'succeeded' ||
    m.step === 'validate' ||
    m.step === 'cutover'
  ) {
    stage = 'validate';
  }
  return { [stage]: m.progress };
}

/**
 * The steps worth showing, in the order they run. Once a rollback begins the
 * backend files every item under the rollback and counts it as copied, so the
 * copy and validate numbers would read 100 % for data that is being removed:
 * only the rollback's own numbers are shown then.
 */
export function visibleSteps(
  m: Migration,
): Array<{ step: CountedStep; progress: StepProgress }> {
  const steps = stepsOf(m);
  const order: CountedStep[] =
    m.state === 'rolling-back' || m.state === 'rolled-back'
      ? ['rollback']
      : ['copy', 'validate', 'rollback'];
  return order.flatMap(step => {
    const progress = steps[step];
    return progress ? [{ step, progress }] : [];
  });
}

/**
 * Whether the migration may have written anything to the target. Items exist
 * from the snapshot on (all in the copy stage), so a migration without a copy
 * step never got to write; one with items might have, even if none finished.
 */
export function mayHaveWritten(m: Migration): boolean {
  if (m.cutoverAt) {
    return true;
  }
  const steps = m.progress.steps;
  return steps
    ? !!(steps.copy || steps.validate || steps.rollback)
    : m.progress.totalItems > 0;
}

/**
 * Whether a worker ever took the migration up: cancelled at plan review or
 * while queued. (One whose snapshot found the source changed was taken up,
 * but has no items: {@link mayHaveWritten} is false for it.)
 * There is nothing to roll back, and a retry would only return it to review
 * (the engine asks for a new approval), so neither is offered.
 */
export function neverStarted(m: Migration): boolean {
  return !m.stepStartedAt && !mayHaveWritten(m);
}

/**
 * Whether a validation report may exist, so that `/report` is asked only
 * then (it answers 404 before the validate step stored one). A rollback moves
 * the items out of the validate stage, so for a rolled-back migration the
 * cutover is the proof; without it the report is asked once (a final state is
 * not polled) and a 404 just means there is none.
 */
export function reportMayExist(m: Migration): boolean {
  switch (m.state) {
    case 'running':
      return m.step === 'cutover';
    case 'succeeded':
      return true;
    case 'failed':
      return m.progress.steps ? !!m.progress.steps.validate : true;
    case 'rolling-back':
    case 'rolled-back':
      return (
        !!m.cutoverAt ||
        !!m.progress.steps?.validate ||
        (m.state === 'rolled-back' && mayHaveWritten(m))
      );
    default:
      return false;
  }
}

/** "1,234 objects, 5.0 GiB": the size of a migration as planned. */
export function plannedSize(m: Migration): string | undefined {
  if (!m.plan) {
    return undefined;
  }
  const { objectCount, totalBytes } = m.plan.source;
  return `${formatNumber(objectCount)} object${
    objectCount === 1 ? '' : 's'
  }, ${formatBytes(totalBytes)}`;
}

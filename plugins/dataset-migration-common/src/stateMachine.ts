import type { MigrationState } from './types';

/**
 * The actions a user (or the API on a user's behalf) can take on a
 * migration. Each maps to one REST route `POST /migrations/:id/<action>`.
 *
 * @public
 */
export type MigrationAction = 'approve' | 'cancel' | 'retry' | 'rollback';

/** @public */
export const MIGRATION_ACTIONS: readonly MigrationAction[] = [
  'approve',
  'cancel',
  'retry',
  'rollback',
];

/**
 * Every state change the engine may make, and only those: the one table of
 * the migration state machine (docs/architecture.md, "The state machine").
 * The engine refuses any other change; the frontend derives which buttons
 * apply from {@link MIGRATION_ACTION_RULES}, which is checked against this
 * table by the tests.
 *
 * @public
 */
export const MIGRATION_TRANSITIONS: Readonly<
  Record<MigrationState, readonly MigrationState[]>
> = {
  // The plan was made; waiting to be submitted for review (or failing
  // because the source changed before approval).
  planned: ['awaiting-approval', 'queued', 'failed', 'cancelled'],
  'awaiting-approval': ['queued', 'failed', 'cancelled'],
  queued: ['running', 'failed', 'cancelled'],
  running: ['succeeded', 'failed', 'cancelled'],
  // A successful migration can only be undone.
  succeeded: ['rolling-back'],
  // A failed one is rolled back (automatically, or by a user after an
  // automatic rollback was turned off) or retried from where it stopped.
  failed: ['rolling-back', 'running', 'queued', 'awaiting-approval'],
  cancelled: ['rolling-back', 'running', 'queued', 'awaiting-approval'],
  // A rollback must finish: it cannot be cancelled or failed.
  'rolling-back': ['rolled-back'],
  'rolled-back': [],
};

/**
 * The states each user action applies to, and the states it can lead to.
 *
 * @public
 */
export const MIGRATION_ACTION_RULES: Readonly<
  Record<
    MigrationAction,
    { from: readonly MigrationState[]; to: readonly MigrationState[] }
  >
> = {
  approve: { from: ['planned', 'awaiting-approval'], to: ['queued'] },
  cancel: {
    from: ['planned', 'awaiting-approval', 'queued', 'running'],
    to: ['cancelled'],
  },
  // A retry resumes a stopped copy or validation (`running`), re-queues an
  // approved migration that stopped before copying, or sends one that was
  // never approved back to review.
  retry: {
    from: ['failed', 'cancelled'],
    to: ['running', 'queued', 'awaiting-approval'],
  },
  rollback: {
    from: ['succeeded', 'failed', 'cancelled'],
    to: ['rolling-back'],
  },
};

/**
 * Whether the state machine allows moving a migration from `from` to `to`.
 *
 * @public
 */
export function canTransition(
  from: MigrationState,
  to: MigrationState,
): boolean {
  return MIGRATION_TRANSITIONS[from].includes(to);
}

/**
 * Whether `action` applies to a migration in `state` (the engine answers
 * 409 Conflict otherwise).
 *
 * @public
 */
export function actionAppliesTo(
  action: MigrationAction,
  state: MigrationState,
): boolean {
  return MIGRATION_ACTION_RULES[action].from.includes(state);
}

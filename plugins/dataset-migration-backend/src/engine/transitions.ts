import type { MigrationState } from '@internal/backstage-plugin-dataset-migration-common';
import { canTransition } from '@internal/backstage-plugin-dataset-migration-common';
import type { NewEvent } from '../database/EventStore';
import type { MigrationStepName } from '../database/MigrationStore';
import type { Stores } from './context';

export const SYSTEM_ACTOR = 'system:dataset-migration-engine';

/**
 * Conditionally moves a migration between states and records the change in
 * the audit log, in one transaction. Returns false if the migration was no
 * longer in `from` (a lost race). Throws if the state machine
 * (`MIGRATION_TRANSITIONS` in -common) forbids moving from any of `from` to
 * `to`: that is a bug in the engine, not a user's mistake.
 */
export async function changeState(
  stores: Stores,
  id: string,
  from: readonly MigrationState[],
  to: MigrationState,
  options: {
    phase?: MigrationStepName | null;
    reason?: string | null;
    actor?: string;
    cutoverAt?: number | null;
    details?: Record<string, unknown>;
    /** Refuse when the backups of overwritten objects were purged. */
    requireBackups?: boolean;
  } = {},
): Promise<boolean> {
  const forbidden = from.filter(state => !canTransition(state, to));
  if (forbidden.length > 0) {
    throw new Error(
      `Migration '${id}': the state machine does not allow ${forbidden
        .map(state => `${state} → ${to}`)
        .join(', ')}`,
    );
  }
  const current = await stores.migrations.get(id);
  if (!current || !from.includes(current.state)) return false;
  const event: NewEvent = {
    migrationId: id,
    type: 'state-changed',
    level: to === 'failed' ? 'error' : 'info',
    message: `${current.state} → ${to}${
      options.reason ? `: ${options.reason}` : ''
    }`,
    actor: options.actor ?? SYSTEM_ACTOR,
    details: { from: current.state, to, ...options.details },
  };
  const changed = await stores.migrations.transition(
    id,
    [current.state],
    {
      state: to,
      phase: options.phase,
      reason: options.reason,
      cutoverAt: options.cutoverAt,
      requireBackups: options.requireBackups,
    },
    event,
  );
  if (changed) stores.events.notify(event);
  return changed;
}

/**
 * Moves a `running` or `rolling-back` migration to its next step and logs
 * it (a `step` event, in the same transaction). Returns false if the
 * migration left that state meanwhile.
 */
export async function enterStep(
  stores: Stores,
  id: string,
  step: MigrationStepName,
  message: string,
  details?: Record<string, unknown>,
): Promise<boolean> {
  const state: MigrationState = step.startsWith('rollback')
    ? 'rolling-back'
    : 'running';
  const event: NewEvent = {
    migrationId: id,
    type: 'step',
    message,
    actor: SYSTEM_ACTOR,
    details: { step, ...details },
  };
  const changed = await stores.migrations.setPhase(id, state, step, event);
  if (changed) stores.events.notify(event);
  return changed;
}

/**
 * Fails a migration that has not finished and, unless told otherwise,
 * starts its automatic rollback right away.
 */
export async function failMigration(
  stores: Stores,
  id: string,
  reason: string,
  options: { rollback?: boolean; actor?: string } = {},
): Promise<void> {
  const failed = await changeState(
    stores,
    id,
    ['planned', 'awaiting-approval', 'queued', 'running'],
    'failed',
    { reason, actor: options.actor },
  );
  if (failed && options.rollback !== false) {
    await changeState(stores, id, ['failed'], 'rolling-back', {
      phase: 'rollback-prepare',
      details: { automatic: true },
    });
  }
}

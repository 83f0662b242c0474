import type { MigrationState } from '@internal/backstage-plugin-dataset-migration-common';
import type { Phase } from '../database/MigrationStore';
import type { Stores } from './context';

export const SYSTEM_ACTOR = 'system:dataset-migration-engine';

/**
 * Conditionally moves a migration between states and records the change in
 * the audit log. Returns false if the migration was no longer in `from`.
 */
export async function changeState(
  stores: Stores,
  id: string,
  from: readonly MigrationState[],
  to: MigrationState,
  options: {
    phase?: Phase | null;
    reason?: string | null;
    actor?: string;
    cutoverAt?: number | null;
    details?: Record<string, unknown>;
    /** Refuse when the backups of overwritten objects were purged. */
    requireBackups?: boolean;
  } = {},
): Promise<boolean> {
  const current = await stores.migrations.get(id);
  if (!current || !from.includes(current.state)) return false;
  const changed = await stores.migrations.transition(id, [current.state], {
    state: to,
    phase: options.phase,
    reason: options.reason,
    cutoverAt: options.cutoverAt,
    requireBackups: options.requireBackups,
  });
  if (!changed) return false;
  await stores.events.append({
    migrationId: id,
    type: 'state-changed',
    level: to === 'failed' ? 'error' : 'info',
    message: `${current.state} → ${to}${
      options.reason ? `: ${options.reason}` : ''
    }`,
    actor: options.actor ?? SYSTEM_ACTOR,
    details: { from: current.state, to, ...options.details },
  });
  return true;
}

/** Enters a running step and logs it. */
export async function enterStep(
  stores: Stores,
  id: string,
  step: Phase,
  message: string,
  details?: Record<string, unknown>,
): Promise<boolean> {
  const state: MigrationState = step.startsWith('rollback')
    ? 'rolling-back'
    : 'running';
  if (!(await stores.migrations.setPhase(id, state, step))) return false;
  await stores.events.append({
    migrationId: id,
    type: 'step',
    message,
    actor: SYSTEM_ACTOR,
    details: { step, ...details },
  });
  return true;
}

/**
 * Fails a running migration and, unless told otherwise, starts its automatic
 * rollback right away.
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

import type { MigrationRow } from '../database/MigrationStore';
import { EngineContext, StoreCache } from './context';
import { finishCopy } from './copy';
import { cutover } from './cutover';
import { runPreflight } from './preflight';
import {
  finishRollback,
  finishRollbackItems,
  prepareRollback,
} from './rollback';
import { SourceDriftError, takeSnapshot } from './snapshot';
import { changeState, enterStep, failMigration } from './transitions';
import { finishValidation } from './validationReport';

/** States whose migration-level steps the driver advances. */
export const DRIVEN_STATES = ['queued', 'running', 'rolling-back'] as const;

function message(e: unknown) {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Advances one migration's steps as far as it can without waiting for work
 * items. Each step is safe to re-run after a crash. An error while running
 * fails the migration (and starts its rollback); an error while rolling back
 * is logged and retried on the next poll, since a rollback must finish.
 */
export async function driveMigration(
  ctx: EngineContext,
  storesCache: StoreCache,
  claimed: MigrationRow,
): Promise<void> {
  const { stores } = ctx;
  let m = claimed;
  try {
    if (m.state === 'queued') {
      ctx.assertAlive();
      await changeState(stores, m.id, ['queued'], 'running', {
        phase: 'preflight',
      });
      m = (await stores.migrations.get(m.id))!;
    }
    if (m.state === 'running') {
      await driveRunning(ctx, storesCache, m);
    } else if (m.state === 'rolling-back') {
      await driveRollback(ctx, storesCache, m);
    }
  } catch (e) {
    if (e instanceof Error && e.name === 'AbandonedError') throw e;
    ctx.assertAlive();
    ctx.logger.warn(`Migration ${m.id}: ${message(e)}`);
    if (m.state === 'rolling-back') {
      // A rollback must finish; log and let the next poll try again.
      await stores.events.append({
        migrationId: m.id,
        type: 'rollback-error',
        level: 'warn',
        message: `Rollback step failed, will retry: ${message(e)}`,
      });
    } else {
      // A drifted source is found before the first write: nothing to undo.
      await failMigration(stores, m.id, message(e), {
        rollback: !(e instanceof SourceDriftError),
      });
    }
  }
}

/**
 * The steps of `running`, in order. A step that waits for work items
 * returns; preflight falls through to snapshot and validate to cutover in
 * the same call.
 */
async function driveRunning(
  ctx: EngineContext,
  cache: StoreCache,
  m: MigrationRow,
) {
  // Each step's `step` event is written here, with the step it enters.
  const enter = enterStep.bind(null, ctx.stores, m.id);
  let step = m.phase ?? 'preflight';
  if (step === 'preflight') {
    await runPreflight(ctx, cache, m);
    await enter('snapshot', 'Preflight passed; taking the source snapshot');
    step = 'snapshot';
  }
  if (step === 'snapshot') {
    const { count, bytes } = await takeSnapshot(ctx, cache, m);
    await enter('copy', `Copying ${count} objects (${bytes} bytes)`, {
      objects: count,
      bytes,
    });
    return;
  }
  if (step === 'copy') {
    const copied = await finishCopy(ctx, cache, m);
    if (copied === undefined) return;
    await enter('validate', `Copied ${copied} objects; validating the target`);
    return;
  }
  if (step === 'validate') {
    if (!(await finishValidation(ctx, cache, m))) return;
    await enter('cutover', 'Validation passed; cutting over');
    step = 'cutover';
  }
  if (step === 'cutover') {
    ctx.assertAlive();
    await cutover(ctx.stores, m);
  }
}

/**
 * The steps of `rolling-back`, in order. rollback-items falls through to
 * rollback-finish in the same call.
 */
async function driveRollback(
  ctx: EngineContext,
  cache: StoreCache,
  m: MigrationRow,
) {
  const enter = enterStep.bind(null, ctx.stores, m.id);
  let step = m.phase ?? 'rollback-prepare';
  if (step === 'rollback-prepare') {
    const pending = await prepareRollback(ctx, m);
    if (pending === undefined) return;
    await enter('rollback-items', `Rolling back ${pending} target object(s)`);
    return;
  }
  if (step === 'rollback-items') {
    if (!(await finishRollbackItems(ctx, m))) return;
    await enter('rollback-finish', 'Restored the target; removing backups');
    step = 'rollback-finish';
  }
  if (step === 'rollback-finish') {
    await finishRollback(ctx, cache, m);
  }
}

import { ConflictError } from '@backstage/errors';
import type { MigrationRow } from '../database/MigrationStore';
import { snapshotSource } from './plan';
import { buildReport } from './validate';
import { clearBackups } from './rollback';
import { cutover } from './cutover';
import { QUARANTINE_FOLDER } from './transformItem';
import { describeTransformLayers } from './transformReport';
import { probeStores } from './preflight';
import { EngineContext, StoreCache } from './context';
import { changeState, enterStep, failMigration } from './transitions';

/** States whose migration-level stage the driver advances. */
export const DRIVEN_STATES = ['queued', 'running', 'rolling-back'] as const;

function message(e: unknown) {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Advances one migration's migration-level stage as far as it can without
 * waiting for work items. Each stage is safe to re-run after a crash.
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
      await failMigration(stores, m.id, message(e));
    }
  }
}

async function driveRunning(
  ctx: EngineContext,
  cache: StoreCache,
  m: MigrationRow,
) {
  const { stores } = ctx;
  let phase = m.phase ?? 'preflight';

  if (phase === 'preflight') {
    // Opening the stores checks roots and the backup area up front; the
    // probes that buckets exist and credentials work, in a bounded time.
    const { source, target } = await cache.get(m);
    await probeStores([source, target], ctx.config.timeouts.preflightMs);
    if (target.captureRootState && m.targetRootState === undefined) {
      // Before the first write, so a rollback can restore the folders.
      await stores.migrations.setTargetRootState(
        m.id,
        await target.captureRootState(),
      );
    }
    ctx.assertAlive();
    await enterStep(
      stores,
      m.id,
      'snapshot',
      'Preflight passed; taking the source snapshot',
    );
    phase = 'snapshot';
  }

  if (phase === 'snapshot') {
    const { source } = await cache.get(m);
    ctx.assertAlive();
    await stores.items.deleteAll(m.id);
    const snapshot = await snapshotSource(source, async page => {
      ctx.assertAlive();
      await stores.migrations.heartbeatDriver(
        m.id,
        ctx.workerId,
        ctx.config.leaseMs,
      );
      await stores.items.insertBatch(m.id, page);
    });
    ctx.assertAlive();
    if (m.plan && snapshot.hash !== m.plan.snapshotHash) {
      throw new ConflictError(
        `The source changed since the plan was made (plan: ${m.plan.source.objectCount} objects, ${m.plan.source.totalBytes} bytes; now: ${snapshot.count} objects, ${snapshot.bytes} bytes). Create a new migration to plan again.`,
      );
    }
    await enterStep(
      stores,
      m.id,
      'copy',
      `Copying ${snapshot.count} objects (${snapshot.bytes} bytes)`,
      {
        objects: snapshot.count,
        bytes: snapshot.bytes,
      },
    );
    return;
  }

  if (phase === 'copy') {
    const counts = await stores.items.stageCounts(m.id, 'copy');
    if (counts.pending + counts.running > 0) return;
    if (counts.failed > 0) {
      const [first] = await stores.items.firstFailures(m.id, 1);
      throw new Error(
        `${counts.failed} object(s) could not be copied; first: '${first?.key}': ${first?.lastError}`,
      );
    }
    await removeTemporaryFiles(ctx, cache, m);
    await ctx.hooks.beforeValidate?.(m.id);
    ctx.assertAlive();
    await stores.items.startStage(m.id, 'validate');
    await enterStep(
      stores,
      m.id,
      'validate',
      `Copied ${counts.done} objects; validating the target`,
    );
    return;
  }

  if (phase === 'validate') {
    const counts = await stores.items.stageCounts(m.id, 'validate');
    if (counts.pending + counts.running > 0) return;
    if (counts.failed > 0) {
      const [first] = await stores.items.firstFailures(m.id, 1);
      throw new Error(
        `${counts.failed} object(s) could not be validated; first: '${first?.key}': ${first?.lastError}`,
      );
    }
    const planned = m.plan?.transform;
    const report = await buildReport(
      m.id,
      stores.items,
      planned && {
        plan: planned,
        quarantine:
          planned.mapping.badRows === 'quarantine'
            ? `${
                (
                  await cache.get(m)
                ).backups.location.uri
              }/${QUARANTINE_FOLDER}`
            : undefined,
      },
    );
    ctx.assertAlive();
    await stores.reports.put(report);
    await stores.events.append({
      migrationId: m.id,
      type: 'validation-report',
      level: report.passed ? 'info' : 'error',
      message: `${
        report.passed
          ? `Validation passed: ${report.objects.checked} objects, manifest matches`
          : `Validation failed: ${report.objects.mismatched} mismatched, ${
              report.objects.missing
            } missing, manifest ${
              report.manifest.matches ? 'matches' : 'differs'
            }`
      }${report.transform ? `; ${describeTransformLayers(report)}` : ''}`,
      details: {
        objects: report.objects,
        manifestMatches: report.manifest.matches,
      },
    });
    if (!report.passed) {
      const first = report.failures[0];
      throw new Error(
        `Validation failed: ${report.objects.mismatched} object(s) differ and ${
          report.objects.missing
        } are missing in the target${
          first ? `; first: '${first.key}': ${first.problem}` : ''
        }`,
      );
    }
    await enterStep(stores, m.id, 'cutover', 'Validation passed; cutting over');
    phase = 'cutover';
  }

  if (phase === 'cutover') {
    ctx.assertAlive();
    await cutover(stores, m);
  }
}

async function driveRollback(
  ctx: EngineContext,
  cache: StoreCache,
  m: MigrationRow,
) {
  const { stores } = ctx;
  let phase = m.phase ?? 'rollback-prepare';
  if (phase === 'rollback-prepare') {
    // Workers may still be writing items they claimed before the rollback
    // began; restoring under them would be undone by their late writes.
    const leased =
      (await stores.items.stageCounts(m.id, 'copy')).leased +
      (await stores.items.stageCounts(m.id, 'validate')).leased;
    if (leased > 0) return;
    ctx.assertAlive();
    await stores.items.startRollback(m.id);
    const counts = await stores.items.stageCounts(m.id, 'rollback');
    await enterStep(
      stores,
      m.id,
      'rollback-items',
      `Rolling back ${counts.pending} target object(s)`,
    );
    return;
  }
  if (phase === 'rollback-items') {
    const counts = await stores.items.stageCounts(m.id, 'rollback');
    if (counts.pending + counts.running > 0) return;
    ctx.assertAlive();
    await enterStep(
      stores,
      m.id,
      'rollback-finish',
      'Restored the target; removing backups',
    );
    phase = 'rollback-finish';
  }
  if (phase === 'rollback-finish') {
    const { target, backups } = await cache.get(m);
    await removeTemporaryFiles(ctx, cache, m);
    if (m.targetRootState !== undefined) {
      // Folders the migration created go too (folder-based stores).
      await target.removeEmptyRoot?.(m.targetRootState);
    }
    const leftover = await clearBackups(backups);
    await backups.removeEmptyRoot?.();
    ctx.assertAlive();
    await changeState(stores, m.id, ['rolling-back'], 'rolled-back', {
      phase: null,
      details: { leftoverBackupsRemoved: leftover },
    });
    cache.forget(m.id);
  }
}

/**
 * Writes interrupted by a crash can leave a backend's temp files in the
 * target; once no item of the migration is in flight, they are swept.
 */
async function removeTemporaryFiles(
  ctx: EngineContext,
  cache: StoreCache,
  m: MigrationRow,
) {
  const { target } = await cache.get(m);
  const removed = (await target.removeTemporaryFiles?.()) ?? 0;
  if (removed > 0) {
    ctx.assertAlive();
    await ctx.stores.events.append({
      migrationId: m.id,
      type: 'temp-files-removed',
      level: 'info',
      message: `Removed ${removed} temporary file(s) left in the target by interrupted writes`,
      details: { removed },
    });
  }
}

import type { ObjectStore } from '@internal/backstage-plugin-dataset-migration-node';
import type { MigrationRow } from '../database/MigrationStore';
import type { EngineContext, StoreCache } from './context';
import { ItemContext, transfer } from './itemContext';
import { removeTemporaryFiles } from './tempFiles';
import { changeState } from './transitions';
import { isTransformUpload, removeStagedParts } from './transformParts';

/**
 * Undoes one object: restores the backed-up original, or deletes what the
 * migration wrote. Idempotent: the backup is deleted only after the restore,
 * so a missing backup means an earlier attempt already restored it.
 */
export async function rollbackItem(ctx: ItemContext): Promise<void> {
  const { item, target, backups, targetKey, signal } = ctx;
  if (isTransformUpload(item.uploadId)) {
    // A transform in parts: its staged outputs are no longer needed.
    await removeStagedParts(ctx);
  } else if (item.uploadId && item.copyMethod !== 'parts') {
    // A copy in parts that never completed: its parts are discarded.
    await target.parts?.abort(targetKey, item.uploadId);
  }
  if (item.hadOriginal) {
    if (await backups.stat(targetKey)) {
      await transfer(backups, targetKey, target, targetKey, signal);
      await backups.delete(targetKey);
    }
  } else {
    await target.delete(targetKey);
  }
  await ctx.save({ state: 'done', lastError: null });
}

/** Removes whatever is left in a migration's backup area. */
export async function clearBackups(backups: ObjectStore): Promise<number> {
  let removed = 0;
  for await (const object of backups.list()) {
    await backups.delete(object.key);
    removed += 1;
  }
  return removed;
}

/**
 * The rollback-prepare step. Workers may still be writing items they claimed
 * before the rollback began; restoring under them would be undone by their
 * late writes, so this waits until no copy or validate item is leased. Then
 * items that touched the target move to stage `rollback`. Returns how many
 * target objects are to be rolled back, or undefined while items are leased.
 */
export async function prepareRollback(
  ctx: EngineContext,
  m: MigrationRow,
): Promise<number | undefined> {
  const { stores } = ctx;
  const leased =
    (await stores.items.stageCounts(m.id, 'copy')).leased +
    (await stores.items.stageCounts(m.id, 'validate')).leased;
  if (leased > 0) return undefined;
  ctx.assertAlive();
  await stores.items.startRollback(m.id);
  return (await stores.items.stageCounts(m.id, 'rollback')).pending;
}

/**
 * The rollback-items step ends once no rollback item is pending or running.
 * Returns true then, false while items are still being rolled back.
 */
export async function finishRollbackItems(
  ctx: EngineContext,
  m: MigrationRow,
): Promise<boolean> {
  const counts = await ctx.stores.items.stageCounts(m.id, 'rollback');
  if (counts.pending + counts.running > 0) return false;
  ctx.assertAlive();
  return true;
}

/**
 * The rollback-finish step: sweeps temp files, removes folders the migration
 * created (folder-based stores), clears the backup area, and moves the
 * migration to `rolled-back`. Its stores are then no longer needed.
 */
export async function finishRollback(
  ctx: EngineContext,
  cache: StoreCache,
  m: MigrationRow,
): Promise<void> {
  const { target, backups } = await cache.get(m);
  await removeTemporaryFiles(ctx, cache, m);
  if (m.targetRootState !== undefined) {
    await target.removeEmptyRoot?.(m.targetRootState);
  }
  const leftover = await clearBackups(backups);
  await backups.removeEmptyRoot?.();
  ctx.assertAlive();
  await changeState(ctx.stores, m.id, ['rolling-back'], 'rolled-back', {
    phase: null,
    details: { leftoverBackupsRemoved: leftover },
  });
  cache.forget(m.id);
}

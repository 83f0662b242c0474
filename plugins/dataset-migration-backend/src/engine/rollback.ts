import type { ObjectStore } from '@internal/backstage-plugin-dataset-migration-node';
import { ItemContext, transfer } from './itemContext';

/**
 * Undoes one object: restores the backed-up original, or deletes what the
 * migration wrote. Idempotent: the backup is deleted only after the restore,
 * so a missing backup means an earlier attempt already restored it.
 */
export async function rollbackItem(ctx: ItemContext): Promise<void> {
  const { item, target, backups, targetKey, signal } = ctx;
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

import type { ObjectStore } from '@internal/backstage-plugin-dataset-migration-node';
import { ItemContext, transfer } from './itemContext';

/**
 * Undoes one object: restores the backed-up original, or deletes what the
 * migration wrote. Idempotent: the backup is deleted only after the restore,
 * so a missing backup means an earlier attempt already restored it.
 */
export async function rollbackItem(ctx: ItemContext): Promise<void> {
  const { item, target, backups, signal } = ctx;
  if (item.hadOriginal) {
    if (await backups.stat(item.key)) {
      await transfer(backups, item.key, target, item.key, signal);
      await backups.delete(item.key);
    }
  } else {
    await target.delete(item.key);
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

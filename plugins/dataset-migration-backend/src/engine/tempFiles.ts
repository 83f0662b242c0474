import type { MigrationRow } from '../database/MigrationStore';
import type { EngineContext, StoreCache } from './context';

/**
 * Writes interrupted by a crash can leave a backend's temp files in the
 * target; once no item of the migration is in flight (the end of the copy
 * step and of a rollback), they are swept and the sweep is logged.
 */
export async function removeTemporaryFiles(
  ctx: EngineContext,
  cache: StoreCache,
  m: MigrationRow,
): Promise<void> {
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

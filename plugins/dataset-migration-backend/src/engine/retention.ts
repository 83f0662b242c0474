import type { MigrationState } from '@internal/backstage-plugin-dataset-migration-common';
import type { MigrationRow } from '../database/MigrationStore';
import type { EngineContext, StoreCache } from './context';
import { clearBackups } from './rollback';
import { SYSTEM_ACTOR } from './transitions';

/** States a rollback can start from, so their backups still matter. */
const KEEPS_BACKUPS: readonly MigrationState[] = [
  'succeeded',
  'failed',
  'cancelled',
];

/**
 * The retention task: for each migration finished before the retention
 * window, first marks its backups purged (a conditional update, so a
 * rollback that starts at the same time either wins — and the purge skips
 * it — or is refused with a 409), then deletes them.
 */
export async function purgeExpiredBackups(
  ctx: EngineContext,
  cache: StoreCache,
  now: number,
): Promise<{ purged: number }> {
  const { stores } = ctx;
  const before = now - ctx.config.backups.retentionMs;
  let purged = 0;
  const seen = new Set<string>();
  for (;;) {
    const batch = (
      await stores.migrations.listBackupPurgeCandidates(before, 50)
    ).filter(m => !seen.has(m.id));
    if (batch.length === 0) break;
    for (const m of batch) {
      ctx.assertAlive();
      seen.add(m.id);
      try {
        if (await purgeOne(ctx, cache, m)) purged += 1;
      } catch (e) {
        // The mark stays: some backups may be gone, so a rollback must stay
        // refused. What is left is named in the event for an operator.
        ctx.logger.warn(`Purging the backups of ${m.id} failed: ${e}`);
        await stores.events.append({
          migrationId: m.id,
          type: 'backups-purge-error',
          level: 'warn',
          actor: SYSTEM_ACTOR,
          message: `Removing the expired backups failed: ${
            e instanceof Error ? e.message : String(e)
          }`,
        });
      }
    }
  }
  return { purged };
}

async function purgeOne(
  ctx: EngineContext,
  cache: StoreCache,
  m: MigrationRow,
): Promise<boolean> {
  const { stores } = ctx;
  const overwritten = await stores.items.countOverwritten(m.id);
  if (
    !(await stores.migrations.markBackupsPurged(
      m.id,
      KEEPS_BACKUPS,
      overwritten,
    ))
  ) {
    return false;
  }
  // What a cancelled (never retried) migration left unfinished goes too:
  // parted writes of the target that were begun (on S3, storage billed
  // until aborted) and the staged outputs of transforms in parts.
  const { target, backups } = await cache.get(m);
  const open = await stores.items.listOpenUploads(m.id);
  for (const upload of open) {
    await target.parts?.abort(upload.key, upload.uploadId);
  }
  const ids = open.map(o => o.id);
  await stores.parts.deleteForItems(ids);
  await stores.items.forgetUploads(ids);
  const aborted = open.length;
  const removed = await clearBackups(backups);
  if (removed > 0 || overwritten > 0) await backups.removeEmptyRoot?.();
  cache.forget(m.id);
  await stores.events.append({
    migrationId: m.id,
    type: 'backups-purged',
    level: 'info',
    actor: SYSTEM_ACTOR,
    message:
      overwritten > 0
        ? `Removed the backups of ${overwritten} overwritten object(s) after the retention time; this migration can no longer be rolled back`
        : 'Retention time passed; no backups were kept (nothing was overwritten), rollback stays possible',
    details: { overwritten, removed, aborted },
  });
  return true;
}

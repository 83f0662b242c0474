import { ConflictError } from '@backstage/errors';
import type {
  ObjectInfo,
  ObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';
import type { MigrationRow } from '../database/MigrationStore';
import { isInternalKey } from '../storage/backupArea';
import { SetDigest } from './checksums';
import type { EngineContext, StoreCache } from './context';

/**
 * The source no longer matches the plan's snapshot. Raised by the snapshot
 * step, before anything is written: the migration fails without a rollback
 * (there is nothing to undo) and must be planned again.
 */
export class SourceDriftError extends ConflictError {}

/** A source listing summed up: what the plan, approve and the snapshot step compare. */
export interface SourceSnapshot {
  count: number;
  bytes: number;
  hash: string;
}

/** What identifies an object's content version in the snapshot hash. */
function snapshotLine(o: ObjectInfo): string {
  const version = o.checksums?.sha256 ?? o.checksums?.md5 ?? o.etag ?? '';
  return `${o.key}\u0000${o.size}\u0000${version}`;
}

/**
 * Streams a source listing page by page, feeding each page to `onPage`, and
 * returns the snapshot digest. Memory stays bounded by the page size.
 */
export async function snapshotSource(
  source: ObjectStore,
  onPage?: (page: ObjectInfo[]) => Promise<void>,
  pageSize = 500,
): Promise<SourceSnapshot> {
  const digest = new SetDigest();
  let page: ObjectInfo[] = [];
  for await (const object of source.list()) {
    if (isInternalKey(object.key)) continue;
    digest.add(snapshotLine(object), object.size);
    if (onPage) {
      page.push(object);
      if (page.length >= pageSize) {
        await onPage(page);
        page = [];
      }
    }
  }
  if (onPage && page.length > 0) await onPage(page);
  return { count: digest.count, bytes: digest.bytes, hash: digest.digest() };
}

/**
 * The snapshot step: replaces the migration's work items with a fresh
 * listing of the source (stage `copy`), heartbeating the driver lease per
 * page since a large source takes long to list. A listing that no longer
 * matches the plan's `snapshotHash` is a {@link SourceDriftError} (the plan's
 * numbers would be wrong). Safe to re-run: old items are deleted first.
 */
export async function takeSnapshot(
  ctx: EngineContext,
  cache: StoreCache,
  m: MigrationRow,
): Promise<SourceSnapshot> {
  const { stores } = ctx;
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
    // Its items describe a source nobody approved: none is copied, and the
    // migration shows no copy step (nothing to roll back).
    await stores.items.deleteAll(m.id);
    throw new SourceDriftError(
      `The source changed since the plan was made (plan: ${m.plan.source.objectCount} objects, ${m.plan.source.totalBytes} bytes; now: ${snapshot.count} objects, ${snapshot.bytes} bytes). Create a new migration to plan again.`,
    );
  }
  return snapshot;
}

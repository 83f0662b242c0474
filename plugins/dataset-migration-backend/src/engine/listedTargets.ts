import type {
  ObjectInfo,
  ObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';
import type { ItemContext } from './itemContext';

/** What one listing of the target said about an item's target object. */
export type ListedTarget = ObjectInfo;

/** At most this many listed objects per batch (others' keys in between). */
const SLACK = 4;

const byUtf8 = (a: string, b: string) =>
  Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Before a batch of validate items is verified by checksum, lists the
 * target once from the batch's first key instead of a `stat` per object
 * (S3: one ListObjectsV2 for up to 1,000 keys against a HEAD each; GCS
 * likewise). Only for targets and sources that list in key order, plain
 * copies, and the
 * `checksum` verify mode (or the default) or `none`; each entry whose object the
 * listing found gets it in `listed`. The others (the first key, which the
 * listing starts after; keys it did not reach; missing objects) are
 * `stat`ed as before, and so is a listed object without a checksum in
 * common with the source (S3 lists an ETag, not the CRC32C a HEAD gives).
 * A failed listing is not an error: every item falls back to its `stat`.
 */
export async function listTargetsOfBatch(
  entries: Array<{ ctx: ItemContext & { listed?: ListedTarget } }>,
): Promise<void> {
  const wanted = entries.filter(
    ({ ctx }) =>
      ctx.item.stage === 'validate' &&
      !ctx.transform &&
      ctx.target.capabilities.listsInKeyOrder &&
      // Items are made in the order the source lists them: only then does
      // a batch hold neighbouring keys (a local source's walk order spreads
      // a batch over the whole target, and the listing finds few of them).
      ctx.source.capabilities.listsInKeyOrder &&
      (ctx.verify === 'none' ||
        (ctx.verify !== 'full' &&
          ctx.target.capabilities.checksums.length > 0)),
  );
  // One listing per target store (a batch may hold several migrations).
  const byStore = new Map<ObjectStore, typeof wanted>();
  for (const entry of wanted) {
    const list = byStore.get(entry.ctx.target) ?? [];
    list.push(entry);
    byStore.set(entry.ctx.target, list);
  }
  for (const [store, group] of byStore) {
    if (group.length < 2) continue;
    const keys = group.map(e => e.ctx.targetKey).sort(byUtf8);
    try {
      const found = await listRange(store, keys, group[0].ctx.signal);
      for (const { ctx } of group) {
        const info = found.get(ctx.targetKey);
        if (info) ctx.listed = info;
      }
    } catch {
      // Each item stats its object instead.
    }
  }
}

/**
 * The objects among `keys` (sorted) that one listing from the first key
 * finds, until it passes the last key or has listed `keys.length * SLACK`
 * objects (other objects between the batch's keys).
 */
async function listRange(
  store: ObjectStore,
  keys: string[],
  signal: AbortSignal,
): Promise<Map<string, ObjectInfo>> {
  const [first] = keys;
  const last = keys[keys.length - 1];
  const wanted = new Set(keys);
  const infos = new Map<string, ObjectInfo>();
  let seen = 0;
  for await (const info of store.list({
    startAfter: first,
    signal,
    // Pages of about the batch: enough when no other object lies between.
    pageSizeHint: keys.length + 16,
  })) {
    if (byUtf8(info.key, last) > 0) break;
    if (wanted.has(info.key)) infos.set(info.key, info);
    if (++seen >= keys.length * SLACK) break;
  }
  return infos;
}

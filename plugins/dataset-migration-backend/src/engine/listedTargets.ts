import type {
  ObjectInfo,
  ObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';
import type { ItemContext } from './itemContext';

/**
 * What one listing of the target said about an item's target object: its
 * info, or `null` when the listing went past its key without finding it
 * (the object does not exist). Unset: the listing cannot tell.
 */
export type ListedTarget = ObjectInfo | null;

/** At most this many listed objects per batch (others' keys in between). */
const SLACK = 4;

const byUtf8 = (a: string, b: string) =>
  Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Keys whose order is the same in UTF-8 bytes and in UTF-16 code units (no
 * character from U+D800 up): only for those is a key the listing went past
 * surely absent, whichever of the two orders a store lists in.
 */
const SAME_ORDER = /^[^\ud800-\uffff]*$/;

type Listable = { ctx: ItemContext & { listed?: ListedTarget } };

/** Whether one listing can stand in for the item's `stat` of its target. */
function wantsListing({ ctx }: Listable): boolean {
  const { item, target } = ctx;
  if (ctx.transform) return false;
  if (!target.capabilities.listsInKeyOrder) return false;
  // The backup check lists from any source: a batch's keys are sorted, and
  // a target without objects among them (a new one, most often) answers
  // for all of them in one listing. From a source that does not list in
  // key order the listing is one page (listingBudget).
  if (item.stage === 'copy') return item.hadOriginal === null;
  // Validation lists from any source too. Items are made in the order the
  // source lists them, so a batch holds neighbouring keys when the source
  // lists in key order (S3, GCS; a local folder of up to 10,000 entries,
  // storage/local/walk.ts). Otherwise the listing is one page
  // (listingBudget) and finds what it finds; the rest `stat` as before.
  if (item.stage !== 'validate') return false;
  return (
    ctx.verify === 'none' ||
    (ctx.verify !== 'full' && target.capabilities.checksums.length > 0)
  );
}

/**
 * Before a lane works through a batch, lists the target once from the
 * batch's first key instead of a `stat` per object (S3: one ListObjectsV2
 * for the batch against a HEAD each; GCS likewise), on targets that list in
 * key order, for plain copies:
 *
 * - copy stage, before the backups: an object the listing found is backed
 *   up; one it went past is absent (`null`: no backup, no `stat`);
 * - validate stage, verifying by checksum (or the default) or by size: an
 *   object the listing found needs no `stat` (unless it lists no checksum
 *   in common with the source: S3 lists the ETag, not a HEAD's CRC32C).
 *
 * Every other item (the first key, which the listing starts after; keys it
 * did not reach; keys with characters whose order stores disagree on)
 * `stat`s as before, and so does every item when the listing fails.
 */
export async function listTargetsOfBatch(entries: Listable[]): Promise<void> {
  // One listing per target store (a batch may hold several migrations).
  const groups = new Map<ObjectStore, Listable[]>();
  for (const entry of entries.filter(wantsListing)) {
    const { target } = entry.ctx;
    groups.set(target, [...(groups.get(target) ?? []), entry]);
  }
  for (const [target, group] of groups) {
    if (group.length < 2) continue;
    const keys = group.map(e => e.ctx.targetKey).sort(byUtf8);
    try {
      const { infos, through } = await listRange(
        target,
        keys,
        listingBudget(group, keys.length),
        group[0].ctx.signal,
      );
      for (const { ctx } of group) {
        const key = ctx.targetKey;
        const info = infos.get(key);
        if (info) {
          ctx.listed = info;
        } else if (
          ctx.item.stage === 'copy' &&
          key !== keys[0] &&
          SAME_ORDER.test(key) &&
          (through === undefined ||
            (SAME_ORDER.test(through) && byUtf8(key, through) <= 0))
        ) {
          ctx.listed = null;
        }
      }
    } catch {
      // Each item stats its object instead.
    }
  }
}

/**
 * How many objects a batch's listing may go through: `SLACK` per key when
 * the batch holds neighbouring keys (its sources list in key order), else
 * one page: its keys may be spread over the target (a local source's large
 * folders stream in the file system's order); the page finds the
 * neighbours a local source's sorted folders give, or tells that a new
 * target holds none of the keys.
 */
function listingBudget(group: Listable[], keys: number) {
  const ordered = group.every(
    e => e.ctx.source.capabilities.listsInKeyOrder === true,
  );
  return ordered ? keys * SLACK : keys + 16;
}

/**
 * The objects among `keys` (sorted) that one listing after the first key
 * finds, until it passes the last key or has listed `budget` objects (other
 * objects between the batch's keys). `through`: the last
 * key the listing is known to have gone past (every key after the first
 * and up to it that the listing did not find is absent); undefined when
 * the listing ended, so no key after the first exists that it did not
 * find.
 */
async function listRange(
  store: ObjectStore,
  keys: string[],
  budget: number,
  signal: AbortSignal,
): Promise<{ infos: Map<string, ObjectInfo>; through?: string }> {
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
    if (byUtf8(info.key, last) > 0) return { infos, through: info.key };
    if (wanted.has(info.key)) infos.set(info.key, info);
    if (++seen >= budget) return { infos, through: info.key };
  }
  return { infos };
}

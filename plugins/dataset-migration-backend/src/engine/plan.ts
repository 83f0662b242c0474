import type { MigrationPlan } from '@internal/backstage-plugin-dataset-migration-common';
import type {
  ObjectInfo,
  ObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';
import { isInternalKey } from '../storage/backupArea';
import { DEFAULT_PREFLIGHT_SECONDS } from './config';
import { probeStores } from './preflight';
import { snapshotSource } from './snapshot';

// Conservative single-replica rates used only for the estimate.
const BYTES_PER_SECOND = 50 * 1024 * 1024;
const SECONDS_PER_OBJECT = 0.02;
const SAMPLE = 20;

/**
 * Most targets are new or small: their keys are listed once (a page per
 * ~1,000 keys) and looked up in memory, instead of one `stat` (a HEAD on
 * S3/GCS) per source key. A target with more keys than this is not held in
 * memory: the plan falls back to a `stat` per source key. ~100 bytes a key.
 */
export const TARGET_LISTING_LIMIT = 100_000;

/**
 * The target's keys (backup area left out), or undefined when there are
 * more than `limit` of them or the target cannot be listed (a credential
 * allowed to read and write keys but not to list the bucket; a symlink that
 * leaves a local target): the plan then asks per key, as before.
 */
async function listTargetKeys(
  target: ObjectStore,
  limit: number,
): Promise<Set<string> | undefined> {
  const keys = new Set<string>();
  try {
    for await (const object of target.list()) {
      if (isInternalKey(object.key)) continue;
      if (keys.size >= limit) return undefined;
      keys.add(object.key);
    }
  } catch {
    return undefined;
  }
  return keys;
}

/**
 * Dry run: probes source and target (bucket or root exists, credentials
 * work; in parallel, within `probeTimeoutMs`), then lists and sizes the
 * source and finds overwrites (with one listing of the target, see
 * {@link TARGET_LISTING_LIMIT}). Writes nothing.
 */
export async function planMigration(options: {
  source: ObjectStore;
  target: ObjectStore;
  consumers: string[];
  targetFormat?: MigrationPlan['target']['format'];
  concurrency: number;
  /** Bound of the probes (`datasetMigration.timeouts.preflightSeconds`). */
  probeTimeoutMs?: number;
  /** Where a source key lands in the target (a transform renames data objects). */
  targetKeyOf?: (key: string) => string;
  /** Sees every listed source object (e.g. to count a transform's data objects). */
  onObject?: (object: ObjectInfo) => void;
  /** Default {@link TARGET_LISTING_LIMIT}. */
  targetListingLimit?: number;
}): Promise<MigrationPlan> {
  const { source, target } = options;
  await probeStores(
    [source, target],
    options.probeTimeoutMs ?? DEFAULT_PREFLIGHT_SECONDS * 1000,
  );
  const overwrites: string[] = [];
  let overwriteCount = 0;
  const targetKey = options.targetKeyOf ?? ((key: string) => key);
  const existing = await listTargetKeys(
    target,
    options.targetListingLimit ?? TARGET_LISTING_LIMIT,
  );
  const found = (key: string) => {
    overwriteCount += 1;
    if (overwrites.length < SAMPLE) overwrites.push(key);
  };
  const snapshot = await snapshotSource(source, async page => {
    page.forEach(o => options.onObject?.(o));
    if (existing) {
      for (const o of page) {
        const key = targetKey(o.key);
        if (existing.has(key)) found(key);
      }
      return;
    }
    // A large target: a stat per key rather than all its keys in memory.
    for (let i = 0; i < page.length; i += 16) {
      const stats = await Promise.all(
        page.slice(i, i + 16).map(o => target.stat(targetKey(o.key))),
      );
      for (const f of stats) if (f) found(f.key);
    }
  });
  const warnings: string[] = [];
  if (snapshot.count === 0) {
    warnings.push('The source is empty: the migration would copy nothing.');
  }
  if (overwriteCount > 0) {
    warnings.push(
      `${overwriteCount} target object(s) exist and will be overwritten; they are backed up first and restored on rollback.`,
    );
  }
  const parallel = Math.max(1, options.concurrency);
  return {
    source: {
      location: source.location.uri,
      objectCount: snapshot.count,
      totalBytes: snapshot.bytes,
    },
    target: { location: target.location.uri, format: options.targetFormat },
    overwrites: { count: overwriteCount, sample: overwrites.sort() },
    consumers: [...options.consumers].sort(),
    snapshotHash: snapshot.hash,
    estimatedSeconds: Math.ceil(
      snapshot.bytes / BYTES_PER_SECOND +
        (snapshot.count * SECONDS_PER_OBJECT) / parallel,
    ),
    warnings,
    createdAt: new Date().toISOString(),
  };
}

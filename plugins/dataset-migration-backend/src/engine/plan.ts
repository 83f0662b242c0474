import type { MigrationPlan } from '@internal/backstage-plugin-dataset-migration-common';
import type {
  ObjectInfo,
  ObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';
import { DEFAULT_PREFLIGHT_SECONDS } from './config';
import { probeStores } from './preflight';
import { snapshotSource } from './snapshot';

// Conservative single-replica rates used only for the estimate.
const BYTES_PER_SECOND = 50 * 1024 * 1024;
const SECONDS_PER_OBJECT = 0.02;
const SAMPLE = 20;

/**
 * Dry run: probes source and target (bucket or root exists, credentials
 * work; in parallel, within `probeTimeoutMs`), then lists and sizes the
 * source and finds overwrites. Writes nothing.
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
}): Promise<MigrationPlan> {
  const { source, target } = options;
  await probeStores(
    [source, target],
    options.probeTimeoutMs ?? DEFAULT_PREFLIGHT_SECONDS * 1000,
  );
  const overwrites: string[] = [];
  let overwriteCount = 0;
  const targetKey = options.targetKeyOf ?? ((key: string) => key);
  const snapshot = await snapshotSource(source, async page => {
    page.forEach(o => options.onObject?.(o));
    // stat per key instead of listing the whole target into memory.
    for (let i = 0; i < page.length; i += 16) {
      const found = await Promise.all(
        page.slice(i, i + 16).map(o => target.stat(targetKey(o.key))),
      );
      for (const f of found) {
        if (!f) continue;
        overwriteCount += 1;
        if (overwrites.length < SAMPLE) overwrites.push(f.key);
      }
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

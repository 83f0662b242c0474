import v8 from 'node:v8';
import vm from 'node:vm';
import { NotFoundError } from '@backstage/errors';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import type {
  ObjectInfo,
  ObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';

/** Memory measurements of listings (issue 10): the test and bench/listing-memory.ts. */

const DAYS = Array.from({ length: 365 }, (_, d) =>
  new Date(Date.UTC(2024, 0, 1 + d)).toISOString().slice(0, 10),
);

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

/**
 * The i-th key of a synthetic listing: ~61 characters like
 * `datalake/sales/orders/dt=2024-05-17/part-0000042-9e3779b9.csv`, unique
 * per i.
 */
export function syntheticKey(i: number, ext = 'csv'): string {
  return `datalake/sales/orders/dt=${DAYS[i % 365]}/part-${String(i).padStart(
    7,
    '0',
  )}-${hex8(Math.imul(i + 1, 2654435761))}.${ext}`;
}

function syntheticObject(i: number, ext: string): ObjectInfo {
  const h = Math.imul(i + 1, 2246822507);
  return {
    key: syntheticKey(i, ext),
    size: 1_000 + (i % 5_000),
    etag: `${hex8(h)}${hex8(h ^ 0x5bd1e995)}${hex8(i)}${hex8(~h)}`,
  };
}

/**
 * A store whose listing yields `count` objects one at a time, made as they
 * are asked for (nothing is kept), like a paginated S3 listing. `onListed(n)`
 * runs after the n-th object was consumed, for each n in `at`, and once more
 * at the end with n = count. `count` 0: an empty store.
 */
export function syntheticStore(options: {
  count: number;
  ext?: string;
  uri?: string;
  at?: number[];
  onListed?: (listed: number) => void;
  /** Sampled every 1,000 objects (when it cannot force a GC). */
  memory?: LiveMemory;
}): ObjectStore {
  const { count, ext = 'csv' } = options;
  const at = new Set(options.at ?? []);
  return {
    location: parseLocation(options.uri ?? 's3://synthetic/source'),
    backendId: 'synthetic',
    capabilities: { checksums: [], serverSideCopy: false, multipart: true },
    async *list() {
      for (let i = 0; i < count; i++) {
        if (at.has(i)) options.onListed?.(i);
        if (i % 1_000 === 0) options.memory?.sample();
        yield syntheticObject(i, ext);
      }
      options.onListed?.(count);
    },
    async stat() {
      return undefined;
    },
    async read(key) {
      throw new NotFoundError(`No object ${key}`);
    },
    async write() {
      throw new Error('The synthetic store is read-only');
    },
    async delete() {},
  };
}

let gc: (() => void) | undefined | null = null;

/** A full garbage collection: `global.gc` if exposed, else V8's flag set at runtime. */
function collector(): (() => void) | undefined {
  if (gc !== null) return gc;
  gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    } catch {
      gc = undefined;
    }
  }
  return gc;
}

const MiB = 1024 * 1024;

/**
 * Live JS memory in MiB: the V8 heap plus ArrayBuffers (typed arrays live
 * outside the heap), after a full GC. Without a way to collect, the least of
 * the samples taken since the last call (the heap just after a minor GC).
 */
export class LiveMemory {
  readonly collects = collector() !== undefined;
  private least = Infinity;

  static now(): number {
    const m = process.memoryUsage();
    return (m.heapUsed + m.arrayBuffers) / MiB;
  }

  /** Between measurements, when no GC can be forced: keeps the least sample. */
  sample() {
    if (!this.collects) this.least = Math.min(this.least, LiveMemory.now());
  }

  measure(): number {
    const run = collector();
    if (run) {
      run();
      run();
      return LiveMemory.now();
    }
    const value = Math.min(this.least, LiveMemory.now());
    this.least = Infinity;
    return value;
  }
}

import { type Config, readDurationFromConfig } from '@backstage/config';
import { durationToMilliseconds } from '@backstage/types';
import { readValidationConfig, type ValidationConfig } from './verifyMode';
import {
  type ConcurrencyLimits,
  readConcurrencyLimits,
} from './adaptiveConcurrency';
import { type RateLimit, readRateLimits } from './rateLimitedStore';

export interface EngineConfig {
  autoApprove: boolean;
  workersEnabled: boolean;
  concurrency: number;
  /** How far the number of items in flight may adapt (adaptiveConcurrency.ts). */
  concurrencyLimits: ConcurrencyLimits;
  /** Request-rate limits the fleet shares, by location (rateLimitedStore.ts). */
  rateLimits: RateLimit[];
  /**
   * How many objects, and bytes, one worker lane claims and checkpoints at
   * once: claims and item updates are per batch, not per object.
   */
  batch: { maxObjects: number; maxBytes: number };
  /**
   * Bytes of one part of a large object copied in parts (partedCopy.ts);
   * 0 copies every object in one stream.
   */
  partBytes: number;
  /** `workers.hashThreads` when set (hashThreads.ts); else the default. */
  hashThreads?: number;
  leaseMs: number;
  pollIntervalMs: number;
  retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
  backups: {
    /** How long backups stay after a migration finished (rollback window). */
    retentionMs: number;
    /** How often the replica-safe purge task runs. */
    purgeFrequencyMs: number;
  };
  /** Data retention (`datasetMigration.retention`, `engine/dataRetention.ts`). */
  retention: {
    /**
     * How long after it finished a migration keeps its work items, events
     * and report; undefined when retention is disabled.
     */
    dataAgeMs?: number;
    /** How often the replica-safe purge task runs. */
    frequencyMs: number;
  };
  /** Stall timeouts for every store call (see guardObjectStore in -node). */
  timeouts: {
    idleMs: number;
    operationMs: number;
    copyMs: number;
    /** Bound of the reachability probes of source and target (preflight). */
    preflightMs: number;
  };
  /** The embedded DuckDB of schema-transform migrations. */
  transform: {
    threads: number;
    memoryLimit: string;
    /** Where objects are spilled for DuckDB (and where it spills itself). */
    spillDirectory?: string;
    /**
     * A CSV or NDJSON object larger than two of these is transformed in
     * parts (engine/transformParts.ts); 0: always whole.
     */
    partBytes: number;
    /** DuckDB jobs this replica runs at once (TransformRuntime.job). */
    jobs: number;
  };
  /** How validation may verify objects (see verifyMode.ts). */
  validation: ValidationConfig;
}

/** Default of `datasetMigration.timeouts.preflightSeconds`. */
export const DEFAULT_PREFLIGHT_SECONDS = 15;

/** A Backstage duration (`{ days: 7 }`, `'P7D'`, `'7d'`) in milliseconds. */
function durationMs(c: Config | undefined, key: string, fallback: number) {
  if (!c?.has(key)) return fallback;
  return durationToMilliseconds(readDurationFromConfig(c, { key }));
}

function seconds(c: Config | undefined, key: string, fallback: number) {
  const value = c?.getOptionalNumber(key) ?? fallback;
  if (!(value > 0)) {
    throw new Error(`datasetMigration.${key} must be a positive number`);
  }
  return value * 1000;
}

function readHashThreads(c: Config | undefined): number | undefined {
  const value = c?.getOptionalNumber('workers.hashThreads');
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0 || value > 16) {
    throw new Error(
      'datasetMigration.workers.hashThreads must be an integer from 0 to 16',
    );
  }
  return value;
}

export function readEngineConfig(root: Config): EngineConfig {
  const c = root.getOptionalConfig('datasetMigration');
  return {
    autoApprove: c?.getOptionalBoolean('autoApprove') ?? false,
    workersEnabled: c?.getOptionalBoolean('workers.enabled') ?? true,
    concurrency: Math.max(1, c?.getOptionalNumber('workers.concurrency') ?? 4),
    concurrencyLimits: readConcurrencyLimits(c),
    rateLimits: readRateLimits(c),
    batch: readBatchConfig(c),
    partBytes: readPartBytes(c),
    hashThreads: readHashThreads(c),
    leaseMs: Math.max(
      100,
      (c?.getOptionalNumber('workers.leaseSeconds') ?? 60) * 1000,
    ),
    pollIntervalMs: Math.max(
      5,
      c?.getOptionalNumber('workers.pollIntervalMs') ?? 500,
    ),
    retry: {
      maxAttempts: Math.max(1, c?.getOptionalNumber('retry.maxAttempts') ?? 5),
      baseDelayMs: c?.getOptionalNumber('retry.baseDelayMs') ?? 250,
      maxDelayMs: c?.getOptionalNumber('retry.maxDelayMs') ?? 30000,
    },
    backups: {
      retentionMs: durationMs(c, 'backups.retention', 7 * 86_400_000),
      purgeFrequencyMs: Math.max(
        1000,
        durationMs(c, 'backups.purgeFrequency', 3_600_000),
      ),
    },
    timeouts: {
      idleMs: seconds(c, 'timeouts.idleSeconds', 60),
      operationMs: seconds(c, 'timeouts.operationSeconds', 60),
      copyMs: seconds(c, 'timeouts.serverSideCopySeconds', 900),
      preflightMs: seconds(
        c,
        'timeouts.preflightSeconds',
        DEFAULT_PREFLIGHT_SECONDS,
      ),
    },
    transform: readTransformConfig(c),
    validation: readValidationConfig(c),
    retention: readRetentionConfig(c),
  };
}

/** Default of `datasetMigration.retention.dataAge`: 90 days. */
export const DEFAULT_DATA_AGE_MS = 90 * 86_400_000;

function readRetentionConfig(c: Config | undefined): EngineConfig['retention'] {
  const frequencyMs = Math.max(
    1000,
    durationMs(c, 'retention.frequency', 3_600_000),
  );
  if (!(c?.getOptionalBoolean('retention.enabled') ?? true)) {
    return { dataAgeMs: undefined, frequencyMs };
  }
  const dataAgeMs = durationMs(c, 'retention.dataAge', DEFAULT_DATA_AGE_MS);
  if (!(dataAgeMs > 0)) {
    throw new Error(
      'datasetMigration.retention.dataAge must be positive; set datasetMigration.retention.enabled: false to keep all data',
    );
  }
  return { dataAgeMs, frequencyMs };
}

function readPartBytes(c: Config | undefined): number {
  const partMiB = c?.getOptionalNumber('workers.partMiB') ?? 128;
  if (!Number.isFinite(partMiB) || partMiB < 0) {
    throw new Error(
      'datasetMigration.workers.partMiB must be 0 (no parts) or positive',
    );
  }
  return Math.round(partMiB * 1024 * 1024);
}

function readBatchConfig(c: Config | undefined): EngineConfig['batch'] {
  const maxObjects = c?.getOptionalNumber('workers.batch.maxObjects') ?? 64;
  const maxMiB = c?.getOptionalNumber('workers.batch.maxMiB') ?? 64;
  if (!Number.isInteger(maxObjects) || maxObjects < 1 || maxObjects > 1000) {
    throw new Error(
      'datasetMigration.workers.batch.maxObjects must be an integer from 1 to 1000',
    );
  }
  if (!(maxMiB > 0)) {
    throw new Error('datasetMigration.workers.batch.maxMiB must be positive');
  }
  return { maxObjects, maxBytes: Math.round(maxMiB * 1024 * 1024) };
}

function readTransformConfig(c: Config | undefined): EngineConfig['transform'] {
  const threads = c?.getOptionalNumber('transform.threads') ?? 2;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(
      'datasetMigration.transform.threads must be an integer ≥ 1',
    );
  }
  const memoryLimit = c?.getOptionalString('transform.memoryLimit') ?? '256MB';
  if (!/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i.test(memoryLimit)) {
    throw new Error(
      `datasetMigration.transform.memoryLimit must be a size such as '512MB' or '2GiB', not '${memoryLimit}'`,
    );
  }
  const jobs = c?.getOptionalNumber('transform.jobs') ?? 2;
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new Error('datasetMigration.transform.jobs must be an integer ≥ 1');
  }
  const partMiB = c?.getOptionalNumber('transform.partMiB') ?? 1024;
  if (!Number.isFinite(partMiB) || partMiB < 0) {
    throw new Error(
      'datasetMigration.transform.partMiB must be a number ≥ 0 (0: never in parts)',
    );
  }
  return {
    threads,
    memoryLimit,
    spillDirectory: c?.getOptionalString('transform.spillDirectory'),
    partBytes: Math.round(partMiB * 1024 * 1024),
    jobs,
  };
}

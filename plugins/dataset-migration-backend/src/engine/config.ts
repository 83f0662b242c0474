import { type Config, readDurationFromConfig } from '@backstage/config';
import { durationToMilliseconds } from '@backstage/types';

export interface EngineConfig {
  autoApprove: boolean;
  workersEnabled: boolean;
  concurrency: number;
  leaseMs: number;
  pollIntervalMs: number;
  retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
  backups: {
    /** How long backups stay after a migration finished (rollback window). */
    retentionMs: number;
    /** How often the replica-safe purge task runs. */
    purgeFrequencyMs: number;
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
  };
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

export function readEngineConfig(root: Config): EngineConfig {
  const c = root.getOptionalConfig('datasetMigration');
  return {
    autoApprove: c?.getOptionalBoolean('autoApprove') ?? false,
    workersEnabled: c?.getOptionalBoolean('workers.enabled') ?? true,
    concurrency: Math.max(1, c?.getOptionalNumber('workers.concurrency') ?? 4),
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
  };
}

function readTransformConfig(c: Config | undefined): EngineConfig['transform'] {
  const threads = c?.getOptionalNumber('transform.threads') ?? 2;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(
      'datasetMigration.transform.threads must be an integer ≥ 1',
    );
  }
  const memoryLimit = c?.getOptionalString('transform.memoryLimit') ?? '512MB';
  if (!/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i.test(memoryLimit)) {
    throw new Error(
      `datasetMigration.transform.memoryLimit must be a size such as '512MB' or '2GiB', not '${memoryLimit}'`,
    );
  }
  return {
    threads,
    memoryLimit,
    spillDirectory: c?.getOptionalString('transform.spillDirectory'),
  };
}

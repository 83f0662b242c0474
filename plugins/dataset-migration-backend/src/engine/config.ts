import type { Config } from '@backstage/config';

export interface EngineConfig {
  autoApprove: boolean;
  workersEnabled: boolean;
  concurrency: number;
  leaseMs: number;
  pollIntervalMs: number;
  retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
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
  };
}

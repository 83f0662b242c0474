import type { DatasetFormat } from './annotations';

/**
 * States of a migration (see shared/DESIGN.md, "Engine").
 *
 * @public
 */
export const MIGRATION_STATES = [
  'planned',
  'awaiting-approval',
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'rolling-back',
  'rolled-back',
] as const;

/** @public */
export type MigrationState = (typeof MIGRATION_STATES)[number];

/** States no worker will move a migration out of on its own. @public */
export const FINAL_MIGRATION_STATES: readonly MigrationState[] = [
  'succeeded',
  'failed',
  'cancelled',
  'rolled-back',
];

/** Steps inside the `running` state. @public */
export const MIGRATION_STEPS = [
  'preflight',
  'snapshot',
  'copy',
  'transform',
  'validate',
  'cutover',
] as const;

/** @public */
export type MigrationStep = (typeof MIGRATION_STEPS)[number];

/** @public */
export const MIGRATION_STRATEGIES = ['bulk-copy', 'schema-transform'] as const;

/** @public */
export type MigrationStrategy = (typeof MIGRATION_STRATEGIES)[number];

/** Checksum algorithms the engine and backends speak. @public */
export type ChecksumAlgorithm = 'sha256' | 'md5' | 'crc32c';

/** @public */
export type Checksums = Partial<Record<ChecksumAlgorithm, string>>;

/** The dry-run result stored with a migration. @public */
export interface MigrationPlan {
  source: { location: string; objectCount: number; totalBytes: number };
  target: { location: string; format?: DatasetFormat };
  /** Target keys that exist today and would be overwritten (backed up first). */
  overwrites: { count: number; sample: string[] };
  /** Entity refs of Components/Resources that depend on the dataset. */
  consumers: string[];
  /** Hash over the sorted source listing (key, size, etag/checksum). */
  snapshotHash: string;
  estimatedSeconds: number;
  warnings: string[];
  createdAt: string;
}

/** Item counters of a migration. @public */
export interface MigrationProgress {
  totalItems: number;
  doneItems: number;
  failedItems: number;
  totalBytes: number;
  doneBytes: number;
}

/** A migration as the API returns it. @public */
export interface Migration {
  id: string;
  /** Entity ref of the dataset being migrated, e.g. `resource:default/plays`. */
  dataset: string;
  source: { location: string; format?: DatasetFormat };
  target: { location: string; format?: DatasetFormat };
  strategy: MigrationStrategy;
  state: MigrationState;
  step?: MigrationStep;
  plan?: MigrationPlan;
  progress: MigrationProgress;
  /** Why the migration failed, was cancelled or rolled back. */
  reason?: string;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

/** @public */
export type MigrationEventLevel = 'debug' | 'info' | 'warn' | 'error';

/** One audit-log / live-log line. @public */
export interface MigrationEvent {
  /** Monotonic id; pass the last one seen as `after` to get only newer events. */
  id: number;
  migrationId: string;
  type: string;
  level: MigrationEventLevel;
  message: string;
  actor?: string;
  createdAt: string;
  details?: Record<string, unknown>;
}

/** @public */
export interface ValidationReport {
  migrationId: string;
  passed: boolean;
  checkedAt: string;
  objects: { checked: number; mismatched: number; missing: number };
  manifest: {
    source: { count: number; bytes: number; hash: string };
    target: { count: number; bytes: number; hash: string };
    matches: boolean;
  };
  /** How each object was compared, e.g. `{ sha256: 120, 'reread-sha256': 3 }`. */
  methods: Record<string, number>;
  failures: Array<{ key: string; problem: string }>;
}

/** State of the worker fleet. @public */
export interface FleetStatus {
  queueDepth: number;
  inFlight: number;
  workers: Array<{ id: string; lastSeenAt: string; inFlight: number }>;
  migrations: Partial<Record<MigrationState, number>>;
  throughput: { itemsPerMinute: number; bytesPerMinute: number };
}

import type { Mapping, TabularFormat } from './mapping';
import type { DatasetFormat } from './annotations';

/**
 * States of a migration (see docs/architecture.md, "The state machine").
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

/**
 * Steps inside the `running` state. A `schema-transform` has no step of its
 * own: each object is transformed in the copy step. @public
 */
export const MIGRATION_STEPS = [
  'preflight',
  'snapshot',
  'copy',
  'validate',
  'cutover',
] as const;

/** @public */
export type MigrationStep = (typeof MIGRATION_STEPS)[number];

/** @public */
export const MIGRATION_STRATEGIES = ['bulk-copy', 'schema-transform'] as const;

/** @public */
export type MigrationStrategy = (typeof MIGRATION_STRATEGIES)[number];

/**
 * How validation verifies each copied object: `full` re-reads and hashes
 * the target, `checksum` compares the checksums both stores already keep
 * (falling back to `full` per object without a common one), `none` compares
 * sizes only. A request without one gets `checksum` wherever possible,
 * else `full`, per object.
 *
 * @public
 */
export const VERIFY_MODES = ['full', 'checksum', 'none'] as const;

/** @public */
export type VerifyMode = (typeof VERIFY_MODES)[number];

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
  /** What a `schema-transform` will do, fixed when the plan is made. */
  transform?: PlannedTransform;
}

/** One column of a tabular schema. @public */
export interface SchemaColumn {
  name: string;
  /** DuckDB type name, e.g. `VARCHAR`, `BIGINT`, `DECIMAL(12,2)`. */
  type: string;
}

/** How one source column becomes a target column. @public */
export interface ColumnChange {
  source?: SchemaColumn;
  target?: SchemaColumn;
  change: 'keep' | 'rename' | 'cast' | 'rename+cast' | 'drop' | 'add';
  /** Value used for nulls (and for a column the source lacks). */
  default?: string | number | boolean;
}

/**
 * The transform a plan fixed: the exact mapping that will run (and its hash),
 * the source schema it was checked against and the target schema it yields.
 *
 * @public
 */
export interface PlannedTransform {
  mapping: Mapping;
  /** `sha256:` of the canonical JSON of `mapping`. */
  mappingHash: string;
  /** Where the mapping came from: the request or the dataset entity. */
  mappingSource: 'request' | 'entity';
  sourceFormat: TabularFormat;
  targetFormat: TabularFormat;
  /** Where the source schema was read, e.g. `object orders/2026.csv` or `entity annotation`. */
  schemaFrom: string;
  sourceSchema: SchemaColumn[];
  targetSchema: SchemaColumn[];
  columns: ColumnChange[];
  /**
   * Source objects in `sourceFormat` (transformed) and others (copied as
   * they are); `inParts` of the transformed ones are larger than two parts
   * (`partMiB`) and transformed in parts of about `partMiB`.
   */
  objects: {
    transformed: number;
    copied: number;
    inParts?: number;
    partMiB?: number;
  };
}

/** Item counters of one step. @public */
export interface StepProgress {
  totalItems: number;
  doneItems: number;
  failedItems: number;
  totalBytes: number;
  doneBytes: number;
}

/**
 * Item counters of a migration: the top-level numbers are those of the
 * items' current stage; `steps` has each step that has begun.
 *
 * @public
 */
export interface MigrationProgress extends StepProgress {
  steps?: Partial<Record<'copy' | 'validate' | 'rollback', StepProgress>>;
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
  /** Entity ref of the dataset's owner when the migration was planned. */
  datasetOwner?: string;
  createdAt: string;
  updatedAt: string;
  /** When the current step began (for throughput and ETA). */
  stepStartedAt?: string;
  /** When the dataset was cut over to the target. */
  cutoverAt?: string;
  /** When the migration last reached a final state. */
  finishedAt?: string;
  /**
   * When the retention task (`datasetMigration.retention.dataAge`) deleted
   * the migration's work items, events and validation report. From then on
   * the migration cannot change state and `dataSummary` holds what they said.
   */
  dataPurgedAt?: string;
  /** What the purged work items, events and report said; set with `dataPurgedAt`. */
  dataSummary?: MigrationDataSummary;
}

/**
 * What a migration's work items, events and validation report said when the
 * retention task deleted them. @public
 */
export interface MigrationDataSummary {
  /** Work items (source objects) and their bytes. */
  objects: number;
  bytes: number;
  /** Work items per state, e.g. `{ done: 120, skipped: 2 }`. */
  itemStates: Record<string, number>;
  /** The gist of the validation report, if there was one. */
  report?: {
    passed: boolean;
    checkedAt: string;
    objects: ValidationReport['objects'];
    manifestMatches: boolean;
    /** How many failures the report listed. */
    failures: number;
  };
  /** How many events there were, and the last few of them. */
  events: {
    count: number;
    last: Array<
      Pick<MigrationEvent, 'type' | 'level' | 'message' | 'createdAt'>
    >;
  };
  /** The progress the items showed, which the API keeps returning. */
  progress: MigrationProgress;
  /** The retention that applied, in milliseconds and in words (`90 days`). */
  dataAgeMs: number;
  dataAge: string;
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
  /**
   * How each object was compared, e.g. `{ sha256: 120, 'reread-sha256': 3,
   * 'checksum-md5': 40, 'checksum-crc32c': 2, size: 1 }`.
   */
  methods: Record<string, number>;
  /** The verify mode and how many objects each way verified (reports since verify modes). */
  verify?: ValidationVerify;
  failures: Array<{ key: string; problem: string; method?: VerifyMode }>;
  /** Present for a `schema-transform`: the record-level layers. */
  transform?: TransformValidation;
}

/**
 * What validation's verify mode did: the mode asked for (`auto` when the
 * request named none) and how many objects were verified each way.
 *
 * @public
 */
export interface ValidationVerify {
  mode: VerifyMode | 'auto';
  methods: Record<VerifyMode, number>;
  /**
   * With `checksum` or `auto`: the first keys (up to 100) that had no
   * checksum in common with the target and were re-read instead.
   */
  fellBackToFull: string[];
}

/**
 * The record-level layers of a transform's validation: row counts, sampled
 * records and the target schema, each with what was compared and how.
 *
 * @public
 */
export interface TransformValidation {
  mappingHash: string;
  rows: {
    /** Rows read from the source objects. */
    source: number;
    /** Rows the mapping's filter left out. */
    filtered: number;
    /** Rows with a value that could not be cast (skipped or quarantined). */
    bad: number;
    quarantined: number;
    /** source − filtered − bad: what the target must hold. */
    expected: number;
    /** Rows counted in the target objects when re-read. */
    target: number;
    matches: boolean;
  };
  sample: {
    /** Records per object the mapping asked for. */
    perObject: number;
    compared: number;
    mismatched: number;
    matches: boolean;
  };
  schema: {
    expected: SchemaColumn[];
    matches: boolean;
    mismatchedObjects: number;
  };
  /** Sentences saying what was compared and how. */
  methods: string[];
  /** Objects copied as they are (not in the source format). */
  copiedObjects: number;
  /** Where quarantined rows were written (outside the target). */
  quarantine?: string;
  /**
   * Objects with bad rows (skipped or quarantined), with the 1-based row
   * numbers of their first bad rows (header excluded); at most 100 objects.
   */
  badRows?: Array<{ key: string; count: number; rows: number[] }>;
}

/**
 * One replica of the fleet. Replicas that stopped or stopped heart-beating
 * stay listed for an hour as `gone`. @public
 */
export interface FleetWorker {
  id: string;
  lastSeenAt: string;
  /** Items the replica reported in flight at its last heartbeat. */
  inFlight: number;
  /** `gone`: stopped, or no heartbeat for two lease periods. */
  state?: 'active' | 'gone';
  /** First heartbeat. */
  startedAt?: string;
  /** Set when the replica stopped gracefully. */
  stoppedAt?: string;
  /** Work items it holds a live lease on (database clock). */
  leasedItems?: number;
  /** Migrations whose migration-level stage it drives now. */
  drivenMigrations?: number;
}

/**
 * How many of the fleet's copy attempts of the last minute (the window of
 * {@link FleetStatus.throughput}, ending at the database's now) ended in an
 * error. An attempt ended in an error when it was retried (an `item-retry`
 * event) or failed the item for good (`item-failed`); it succeeded when the
 * object was copied (`copied_at`, the same items as
 * `throughput.itemsPerMinute`). Only the copy stage counts: validate and
 * rollback attempts that succeed leave no indexed timestamp to count them by.
 * An attempt a replica abandoned (lease lost, replica died) is in neither.
 * Fleet-wide only: events do not record which replica wrote them. @public
 */
export interface FleetErrorRate {
  /** Copy attempts that ended in an error and will be retried. */
  retried: number;
  /** Copy attempts that failed their item for good. */
  failed: number;
  /** Copy attempts that ended: copied + retried + failed. */
  attempts: number;
  /** `(retried + failed) / attempts`, from 0 to 1; 0 without attempts. */
  rate: number;
}

/** State of the worker fleet. @public */
export interface FleetStatus {
  /**
   * Items a worker could claim right now, every stage together: items of
   * the stage their migration is in (`running` in copy or validate,
   * `rolling-back` in rollback-items) that are pending and due (not a retry
   * waiting out its back-off), or running on an expired lease. The same
   * count as the `dataset_migration.queue.depth` metric, summed over stages.
   */
  queueDepth: number;
  /** Live item leases fleet-wide (database clock). */
  inFlight: number;
  workers: FleetWorker[];
  migrations: Partial<Record<MigrationState, number>>;
  /**
   * Objects copied, and their source bytes, in the last minute: items whose
   * `copied_at` is at most 60 s before the database's now.
   */
  throughput: { itemsPerMinute: number; bytesPerMinute: number };
  /**
   * Error rate of the copy attempts in the same window as `throughput`
   * (absent from backends that predate it).
   */
  errors?: FleetErrorRate;
}

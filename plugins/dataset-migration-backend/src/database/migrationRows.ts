import type {
  DatasetFormat,
  Migration,
  MigrationDataSummary,
  MigrationPlan,
  MigrationProgress,
  MigrationState,
  MigrationStep,
  MigrationStrategy,
  VerifyMode,
} from '@internal/backstage-plugin-dataset-migration-common';
import { MIGRATION_STEPS } from '@internal/backstage-plugin-dataset-migration-common';
import { DbBigInt, DbJson, num, optNum, optStr } from './rowValues';

/**
 * The step a migration is at while it is `running` or `rolling-back`: one of
 * the public running steps ({@link MigrationStep}) or a rollback step. It is
 * stored in the column `dm_migrations.phase`, so the row field keeps that
 * name.
 */
export type MigrationStepName =
  | MigrationStep
  | 'rollback-prepare'
  | 'rollback-items'
  | 'rollback-finish';

/** The older name of {@link MigrationStepName}, after the column `phase`. */
export type Phase = MigrationStepName;

/** A migration as the engine works with it (one `dm_migrations` row). */
export interface MigrationRow {
  id: string;
  dataset: string;
  sourceLocation: string;
  sourceFormat?: DatasetFormat;
  targetLocation: string;
  targetFormat?: DatasetFormat;
  strategy: MigrationStrategy;
  options: { concurrency?: number; verify?: VerifyMode };
  state: MigrationState;
  /** The step (column `phase`); unset outside `running` and `rolling-back`. */
  phase?: MigrationStepName;
  plan?: MigrationPlan;
  reason?: string;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  cutoverAt?: number;
  /** When it last reached a final state. */
  finishedAt?: number;
  /** Folder state of the target before the first write (opaque, per backend). */
  targetRootState?: string;
  /** When the retention task purged its backups; rollback is refused after. */
  backupsPurgedAt?: number;
  backupsPurgedCount?: number;
  /** Entity ref of the dataset's owner when planned. */
  datasetOwner?: string;
  /** When the current step began. */
  phaseStartedAt?: number;
  /**
   * When the data retention task deleted its work items, events and report;
   * no change of state is possible after.
   */
  dataPurgedAt?: number;
  /** What the deleted data said (written with `dataPurgedAt`). */
  dataSummary?: MigrationDataSummary;
}

/**
 * A `dm_migrations` row as the database returns it (columns of the knex
 * migrations in `migrations/`).
 */
export interface DbMigrationRow {
  id: string;
  dataset: string;
  source_location: string;
  source_format: DatasetFormat | null;
  target_location: string;
  target_format: DatasetFormat | null;
  strategy: MigrationStrategy;
  options: DbJson | null;
  state: MigrationState;
  phase: MigrationStepName | null;
  plan: DbJson | null;
  reason: string | null;
  created_by: string;
  created_at: DbBigInt;
  updated_at: DbBigInt;
  cutover_at: DbBigInt | null;
  driver_owner: string | null;
  driver_expires_at: DbBigInt | null;
  target_root_state: string | null;
  finished_at: DbBigInt | null;
  backups_purged_at: DbBigInt | null;
  backups_purged_count: number | null;
  dataset_owner: string | null;
  phase_started_at: DbBigInt | null;
  data_purged_at: DbBigInt | null;
  data_summary: DbJson | null;
}

export function fromRow(row: DbMigrationRow): MigrationRow {
  return {
    id: row.id,
    dataset: row.dataset,
    sourceLocation: row.source_location,
    sourceFormat: optStr(row.source_format),
    targetLocation: row.target_location,
    targetFormat: optStr(row.target_format),
    strategy: row.strategy,
    options: row.options ? JSON.parse(row.options) : {},
    state: row.state,
    phase: optStr(row.phase),
    plan: row.plan ? JSON.parse(row.plan) : undefined,
    reason: optStr(row.reason),
    createdBy: row.created_by,
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    cutoverAt: optNum(row.cutover_at),
    finishedAt: optNum(row.finished_at),
    targetRootState: optStr(row.target_root_state),
    backupsPurgedAt: optNum(row.backups_purged_at),
    backupsPurgedCount: optNum(row.backups_purged_count),
    datasetOwner: optStr(row.dataset_owner),
    phaseStartedAt: optNum(row.phase_started_at),
    dataPurgedAt: optNum(row.data_purged_at),
    dataSummary: row.data_summary ? JSON.parse(row.data_summary) : undefined,
  };
}

/**
 * The API view: the step is shown only while running, and only public ones.
 * Once the data was purged the items are gone, so the progress is the one
 * kept in the summary.
 */
export function toMigration(
  row: MigrationRow,
  progress: MigrationProgress,
): Migration {
  const step =
    row.state === 'running' &&
    row.phase &&
    (MIGRATION_STEPS as readonly string[]).includes(row.phase)
      ? (row.phase as MigrationStep)
      : undefined;
  return {
    id: row.id,
    dataset: row.dataset,
    source: { location: row.sourceLocation, format: row.sourceFormat },
    target: { location: row.targetLocation, format: row.targetFormat },
    strategy: row.strategy,
    state: row.state,
    ...(step ? { step } : {}),
    ...(row.plan ? { plan: row.plan } : {}),
    progress: row.dataSummary?.progress ?? progress,
    ...(row.reason ? { reason: row.reason } : {}),
    createdBy: row.createdBy,
    ...(row.datasetOwner ? { datasetOwner: row.datasetOwner } : {}),
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    ...(row.phase && row.phaseStartedAt
      ? { stepStartedAt: new Date(row.phaseStartedAt).toISOString() }
      : {}),
    ...(row.cutoverAt
      ? { cutoverAt: new Date(row.cutoverAt).toISOString() }
      : {}),
    ...(row.finishedAt
      ? { finishedAt: new Date(row.finishedAt).toISOString() }
      : {}),
    ...(row.dataPurgedAt
      ? { dataPurgedAt: new Date(row.dataPurgedAt).toISOString() }
      : {}),
    ...(row.dataSummary ? { dataSummary: row.dataSummary } : {}),
  };
}

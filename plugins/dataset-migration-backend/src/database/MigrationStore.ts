import { Knex } from 'knex';
import type {
  DatasetFormat,
  Migration,
  MigrationPlan,
  MigrationProgress,
  MigrationState,
  MigrationStep,
  MigrationStrategy,
} from '@internal/backstage-plugin-dataset-migration-common';
import {
  FINAL_MIGRATION_STATES,
  MIGRATION_STEPS,
} from '@internal/backstage-plugin-dataset-migration-common';
import { dbNow, dbNowPlus } from './clock';
import { num, optNum } from './migrations';

/** Internal stages beyond the public running steps. */
export type Phase =
  | MigrationStep
  | 'rollback-prepare'
  | 'rollback-items'
  | 'rollback-finish';

export interface MigrationRow {
  id: string;
  dataset: string;
  sourceLocation: string;
  sourceFormat?: DatasetFormat;
  targetLocation: string;
  targetFormat?: DatasetFormat;
  strategy: MigrationStrategy;
  options: { concurrency?: number };
  state: MigrationState;
  phase?: Phase;
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
  /** When the current phase began. */
  phaseStartedAt?: number;
}

function fromRow(row: any): MigrationRow {
  return {
    id: row.id,
    dataset: row.dataset,
    sourceLocation: row.source_location,
    sourceFormat: row.source_format ?? undefined,
    targetLocation: row.target_location,
    targetFormat: row.target_format ?? undefined,
    strategy: row.strategy,
    options: row.options ? JSON.parse(row.options) : {},
    state: row.state,
    phase: row.phase ?? undefined,
    plan: row.plan ? JSON.parse(row.plan) : undefined,
    reason: row.reason ?? undefined,
    createdBy: row.created_by,
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    cutoverAt: optNum(row.cutover_at),
    finishedAt: optNum(row.finished_at),
    targetRootState: row.target_root_state ?? undefined,
    backupsPurgedAt: optNum(row.backups_purged_at),
    backupsPurgedCount: optNum(row.backups_purged_count),
    datasetOwner: row.dataset_owner ?? undefined,
    phaseStartedAt: optNum(row.phase_started_at),
  };
}

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
    progress,
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
  };
}

export class MigrationStore {
  constructor(private readonly knex: Knex) {}

  async insert(row: MigrationRow, trx?: Knex.Transaction): Promise<void> {
    await (trx ?? this.knex)('dm_migrations').insert({
      id: row.id,
      dataset: row.dataset,
      source_location: row.sourceLocation,
      source_format: row.sourceFormat ?? null,
      target_location: row.targetLocation,
      target_format: row.targetFormat ?? null,
      strategy: row.strategy,
      options: JSON.stringify(row.options),
      state: row.state,
      phase: row.phase ?? null,
      plan: row.plan ? JSON.stringify(row.plan) : null,
      reason: row.reason ?? null,
      created_by: row.createdBy,
      created_at: row.createdAt,
      updated_at: row.updatedAt,
      dataset_owner: row.datasetOwner ?? null,
      phase_started_at: row.phase ? row.createdAt : null,
    });
  }

  async get(
    id: string,
    trx?: Knex.Transaction,
  ): Promise<MigrationRow | undefined> {
    const row = await (trx ?? this.knex)('dm_migrations')
      .where('id', id)
      .first();
    return row ? fromRow(row) : undefined;
  }

  async list(filter: {
    dataset?: string;
    state?: MigrationState;
    owner?: string;
    limit: number;
    offset: number;
  }): Promise<{ rows: MigrationRow[]; totalCount: number }> {
    const where = (q: Knex.QueryBuilder) => {
      if (filter.dataset) q.where('dataset', filter.dataset);
      if (filter.owner) q.where('dataset_owner', filter.owner);
      if (filter.state) q.where('state', filter.state);
      return q;
    };
    const [{ count }] = await where(this.knex('dm_migrations')).count({
      count: '*',
    });
    const rows = await where(this.knex('dm_migrations'))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'asc')
      .limit(filter.limit)
      .offset(filter.offset);
    return { rows: rows.map(fromRow), totalCount: num(count) };
  }

  /**
   * Moves a migration to a new state only if it is still in one of `from`;
   * returns false when another actor changed it first.
   */
  async transition(
    id: string,
    from: readonly MigrationState[],
    to: {
      state: MigrationState;
      phase?: Phase | null;
      reason?: string | null;
      cutoverAt?: number | null;
      /** Only if the backups of overwritten objects were not purged. */
      requireBackups?: boolean;
    },
    trx?: Knex.Transaction,
  ): Promise<boolean> {
    const now = Date.now();
    const patch: Record<string, unknown> = {
      state: to.state,
      updated_at: now,
    };
    if (FINAL_MIGRATION_STATES.includes(to.state)) patch.finished_at = now;
    if (to.phase !== undefined) {
      patch.phase = to.phase;
      patch.phase_started_at = to.phase === null ? null : now;
    }
    if (to.reason !== undefined) patch.reason = to.reason;
    if (to.cutoverAt !== undefined) patch.cutover_at = to.cutoverAt;
    const updated = await (trx ?? this.knex)('dm_migrations')
      .where('id', id)
      .whereIn('state', from as MigrationState[])
      .modify(q => {
        if (to.requireBackups) {
          q.where(w =>
            w.whereNull('backups_purged_at').orWhere('backups_purged_count', 0),
          );
        }
      })
      .update(patch);
    return updated === 1;
  }

  /** Advances the internal phase while the migration stays in `state`. */
  async setPhase(
    id: string,
    state: MigrationState,
    phase: Phase,
  ): Promise<boolean> {
    const updated = await this.knex('dm_migrations')
      .where({ id, state })
      .update({ phase, updated_at: Date.now(), phase_started_at: Date.now() });
    return updated === 1;
  }

  /** Records the target's folder state once, before the first write. */
  async setTargetRootState(id: string, state: string): Promise<void> {
    await this.knex('dm_migrations')
      .where('id', id)
      .whereNull('target_root_state')
      .update({ target_root_state: state });
  }

  /**
   * Migrations that may still be rolled back, finished before `before`, whose
   * backups were not purged yet: the retention task's work list.
   */
  async listBackupPurgeCandidates(
    before: number,
    limit: number,
  ): Promise<MigrationRow[]> {
    const rows = await this.knex('dm_migrations')
      .whereIn('state', ['succeeded', 'failed', 'cancelled'])
      .whereNull('backups_purged_at')
      .where('finished_at', '<', before)
      .orderBy('finished_at', 'asc')
      .limit(limit);
    return rows.map(fromRow);
  }

  /** Marks the backups purged, unless the migration left `states` meanwhile. */
  async markBackupsPurged(
    id: string,
    states: readonly MigrationState[],
    count: number,
  ): Promise<boolean> {
    const updated = await this.knex('dm_migrations')
      .where('id', id)
      .whereIn('state', states as MigrationState[])
      .whereNull('backups_purged_at')
      .update({ backups_purged_at: Date.now(), backups_purged_count: count });
    return updated === 1;
  }

  async setPlan(id: string, plan: MigrationPlan): Promise<void> {
    await this.knex('dm_migrations')
      .where('id', id)
      .update({ plan: JSON.stringify(plan), updated_at: Date.now() });
  }

  /**
   * Claims the migration-level stage of one migration that needs it (the
   * "driver" lease), so exactly one replica plans, validates or finishes it.
   */
  async claimDriver(
    owner: string,
    leaseMs: number,
    states: MigrationState[],
    limit: number,
  ): Promise<Array<MigrationRow & { previousDriver?: string }>> {
    // Lease times are the database's on PostgreSQL (clock.ts).
    const now = dbNow(this.knex);
    const candidates: Array<{ id: string; driver_owner: string | null }> =
      await this.knex('dm_migrations')
        .whereIn('state', states)
        .andWhere(q =>
          q.whereNull('driver_owner').orWhere('driver_expires_at', '<', now),
        )
        .orderBy('updated_at', 'asc')
        .limit(limit)
        .select('id', 'driver_owner');
    const claimed: Array<MigrationRow & { previousDriver?: string }> = [];
    for (const { id, driver_owner: previous } of candidates) {
      const updated = await this.knex('dm_migrations')
        .where('id', id)
        .whereIn('state', states)
        .andWhere(q =>
          q
            .whereNull('driver_owner')
            .orWhere('driver_expires_at', '<', dbNow(this.knex)),
        )
        .update({
          driver_owner: owner,
          driver_expires_at: dbNowPlus(this.knex, leaseMs),
        });
      if (updated === 1) {
        const row = await this.get(id);
        if (row) {
          claimed.push(
            previous && previous !== owner
              ? { ...row, previousDriver: previous }
              : row,
          );
        }
      }
    }
    return claimed;
  }

  async heartbeatDriver(id: string, owner: string, leaseMs: number) {
    await this.knex('dm_migrations')
      .where({ id, driver_owner: owner })
      .update({ driver_expires_at: dbNowPlus(this.knex, leaseMs) });
  }

  async releaseDriver(id: string, owner: string) {
    await this.knex('dm_migrations')
      .where({ id, driver_owner: owner })
      .update({ driver_owner: null, driver_expires_at: null });
  }

  async countByState(): Promise<Partial<Record<MigrationState, number>>> {
    const rows: any[] = await this.knex('dm_migrations')
      .groupBy('state')
      .select('state')
      .count({ count: '*' });
    return Object.fromEntries(rows.map(r => [r.state, num(r.count)]));
  }

  /** Target of the most recent succeeded migration that cut the dataset over. */
  async effectiveLocation(
    dataset: string,
  ): Promise<{ location: string; format?: DatasetFormat } | undefined> {
    const row = await this.knex('dm_migrations')
      .where({ dataset, state: 'succeeded' })
      .whereNotNull('cutover_at')
      .orderBy('cutover_at', 'desc')
      .first('target_location', 'target_format');
    return row
      ? {
          location: row.target_location,
          ...(row.target_format && { format: row.target_format }),
        }
      : undefined;
  }
}

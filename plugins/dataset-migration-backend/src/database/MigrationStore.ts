import { Knex } from 'knex';
import { ITEM_STAGE_SQL } from './claims';
import type {
  DatasetFormat,
  MigrationPlan,
  MigrationState,
} from '@internal/backstage-plugin-dataset-migration-common';
import { FINAL_MIGRATION_STATES } from '@internal/backstage-plugin-dataset-migration-common';
import {
  dbNow,
  dbNowPlus,
  DbTakeoverColumns,
  LeaseTakeover,
  takeoverColumns,
  toTakeover,
} from './clock';
import { insertEvent, NewEvent } from './EventStore';
import {
  DbMigrationRow,
  fromRow,
  MigrationRow,
  MigrationStepName,
} from './migrationRows';
import { DbClient, DbCount, DbWrite, num } from './rowValues';

export type {
  DbMigrationRow,
  MigrationRow,
  MigrationStepName,
  Phase,
} from './migrationRows';
export { toMigration } from './migrationRows';

/**
 * Runs a conditional update and, only if it changed the row, writes its
 * audit event in the same transaction: a crash cannot keep one without the
 * other. Without an event it is a plain update.
 */
async function updateWithEvent(
  db: DbClient,
  update: (db: DbClient) => Promise<number>,
  event: NewEvent | undefined,
): Promise<boolean> {
  if (!event) return (await update(db)) === 1;
  const run = async (trx: Knex.Transaction) => {
    if ((await update(trx)) !== 1) return false;
    await insertEvent(trx, event);
    return true;
  };
  // Inside a caller's transaction this is a savepoint.
  return db.transaction(run);
}

/** What a list of migrations can be narrowed to. */
export interface MigrationFilter {
  dataset?: string;
  /** Only these datasets (e.g. the ones the caller may read). */
  datasets?: readonly string[];
  state?: MigrationState;
  /** Entity ref of the dataset's owner, normalised. */
  owner?: string;
}

/** Bound parameters per `IN` list: far below SQLite's and PostgreSQL's caps. */
const IN_CHUNK = 1000;

function filtered(q: Knex.QueryBuilder, filter: MigrationFilter) {
  if (filter.dataset) q.where('dataset', filter.dataset);
  if (filter.datasets) {
    const all = [...filter.datasets];
    q.where(inner => {
      if (all.length === 0) inner.whereRaw('1 = 0');
      for (let i = 0; i < all.length; i += IN_CHUNK) {
        inner.orWhereIn('dataset', all.slice(i, i + IN_CHUNK));
      }
    });
  }
  if (filter.owner) q.where('dataset_owner', filter.owner);
  if (filter.state) q.where('state', filter.state);
  return q;
}

/** What {@link MigrationStore.claimDriver} tells of a driver it took over. */
export interface DriverTakeover {
  /** The replica whose driver lease had expired. */
  previousDriver?: string;
  /** How long that lease had sat expired (database clock). */
  takeover?: LeaseTakeover;
}

/**
 * `dm_migrations`: one row per migration, its state and step, the driver
 * lease, and the bookkeeping of backups and cutover.
 */
export class MigrationStore {
  constructor(private readonly knex: Knex) {}

  async insert(row: MigrationRow, trx?: Knex.Transaction): Promise<void> {
    const values: DbWrite<DbMigrationRow> = {
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
    };
    await (trx ?? this.knex)('dm_migrations').insert(values);
  }

  async get(
    id: string,
    trx?: Knex.Transaction,
  ): Promise<MigrationRow | undefined> {
    const row: DbMigrationRow | undefined = await (trx ?? this.knex)(
      'dm_migrations',
    )
      .where('id', id)
      .first();
    return row ? fromRow(row) : undefined;
  }

  async list(
    filter: MigrationFilter & { limit: number; offset: number },
  ): Promise<{ rows: MigrationRow[]; totalCount: number }> {
    const where = (q: Knex.QueryBuilder) => filtered(q, filter);
    const [{ count }]: Array<{ count: DbCount }> = await where(
      this.knex('dm_migrations'),
    ).count({ count: '*' });
    const rows: DbMigrationRow[] = await where(this.knex('dm_migrations'))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'asc')
      .limit(filter.limit)
      .offset(filter.offset);
    return { rows: rows.map(fromRow), totalCount: num(count) };
  }

  /**
   * The distinct datasets of the migrations `filter` matches, for deciding
   * once per dataset which of them a caller may read.
   */
  async listDatasets(filter: MigrationFilter): Promise<string[]> {
    const rows: Array<{ dataset: string }> = await filtered(
      this.knex('dm_migrations'),
      filter,
    )
      .distinct('dataset')
      .orderBy('dataset');
    return rows.map(r => r.dataset);
  }

  /**
   * Moves a migration to a new state only if it is still in one of `from`;
   * returns false when another actor changed it first. `event` (the audit
   * line of the change) is written in the same transaction, and only if the
   * state changed; the caller tells the event listener after
   * (`EventStore.notify`). Which changes are allowed at all is the engine's
   * check (`changeState`). A migration whose data was purged
   * (`data_purged_at`) never changes state again.
   */
  async transition(
    id: string,
    from: readonly MigrationState[],
    to: {
      state: MigrationState;
      phase?: MigrationStepName | null;
      reason?: string | null;
      cutoverAt?: number | null;
      /** Only if the backups of overwritten objects were not purged. */
      requireBackups?: boolean;
    },
    event?: NewEvent,
    trx?: Knex.Transaction,
  ): Promise<boolean> {
    const now = Date.now();
    const patch: DbWrite<DbMigrationRow> = {
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
    return updateWithEvent(
      trx ?? this.knex,
      db =>
        db('dm_migrations')
          .where('id', id)
          .whereIn('state', from as MigrationState[])
          // Without its items, events and report a migration cannot move:
          // a rollback or retry would have nothing to work from.
          .whereNull('data_purged_at')
          .modify(q => {
            if (to.requireBackups) {
              q.where(w =>
                w
                  .whereNull('backups_purged_at')
                  .orWhere('backups_purged_count', 0),
              );
            }
          })
          .update(patch),
      event,
    );
  }

  /**
   * Moves a migration to another step (column `phase`) while it stays in
   * `state`; `event` is written with it, as in {@link transition}.
   */
  async setPhase(
    id: string,
    state: MigrationState,
    phase: MigrationStepName,
    event?: NewEvent,
  ): Promise<boolean> {
    const now = Date.now();
    const patch: DbWrite<DbMigrationRow> = {
      phase,
      updated_at: now,
      phase_started_at: now,
    };
    return updateWithEvent(
      this.knex,
      db => db('dm_migrations').where({ id, state }).update(patch),
      event,
    );
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
    const rows: DbMigrationRow[] = await this.knex('dm_migrations')
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
   * Claims the driver lease of up to `limit` migrations in `states` that
   * have no live driver, so exactly one replica advances a migration's
   * steps. A take-over of an expired lease names the previous driver and
   * how long its lease had sat expired (`takeover`, read with the
   * candidates: no statement of its own).
   */
  async claimDriver(
    owner: string,
    leaseMs: number,
    states: MigrationState[],
    limit: number,
  ): Promise<Array<MigrationRow & DriverTakeover>> {
    // Lease times are the database's on PostgreSQL (clock.ts).
    const now = dbNow(this.knex);
    const candidates: Array<
      Pick<DbMigrationRow, 'id' | 'driver_owner' | 'driver_expires_at'> &
        DbTakeoverColumns
    > = await this.knex('dm_migrations')
      .whereIn('state', states)
      .andWhere(q =>
        q.whereNull('driver_owner').orWhere('driver_expires_at', '<', now),
      )
      // Migrations whose items are all finished (or that have a stage
      // without items, e.g. snapshot or cutover) first: they wait only
      // for a driver. Oldest first otherwise. Without this, queued
      // migrations (always older) took every driver while finished
      // copies waited (measured: 1,020 of 1,026 running migrations idle).
      .orderByRaw(
        `CASE WHEN state IN ('running', 'rolling-back') AND NOT EXISTS (SELECT 1 FROM dm_work_items wi WHERE wi.migration_id = dm_migrations.id AND wi.stage = ${ITEM_STAGE_SQL} AND wi.state IN ('pending', 'running')) THEN 0 ELSE 1 END`,
      )
      .orderBy('updated_at', 'asc')
      .limit(limit)
      .select(
        'id',
        'driver_owner',
        'driver_expires_at',
        ...takeoverColumns(this.knex, 'dm_migrations.driver_owner'),
      );
    const claimed: Array<MigrationRow & DriverTakeover> = [];
    for (const candidate of candidates) {
      const { id, driver_owner: previous } = candidate;
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
          const from = previous && previous !== owner ? previous : undefined;
          const takeover =
            from && toTakeover(candidate, candidate.driver_expires_at);
          claimed.push(
            from
              ? { ...row, previousDriver: from, ...(takeover && { takeover }) }
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
    const rows: Array<{ state: MigrationState; count: DbCount }> =
      await this.knex('dm_migrations')
        .groupBy('state')
        .select('state')
        .count({ count: '*' });
    return Object.fromEntries(rows.map(r => [r.state, num(r.count)]));
  }

  /** Target of the most recent succeeded migration that cut the dataset over. */
  async effectiveLocation(
    dataset: string,
  ): Promise<{ location: string; format?: DatasetFormat } | undefined> {
    const row:
      | Pick<DbMigrationRow, 'target_location' | 'target_format'>
      | undefined = await this.knex('dm_migrations')
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

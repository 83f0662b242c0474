import { Knex } from 'knex';
import { dbNow, dbNowPlus } from './clock';
import type { DbMigrationRow } from './migrationRows';
import { DbClient, DbCount, DbWrite, isPostgres, num } from './rowValues';
import { DbWorkItemRow, fromRow, ItemStage, WorkItem } from './workItemRows';

/** `column` of the table aliased `alias`, or bare when there is none. */
const col = (alias: string, column: string) =>
  alias ? `${alias}.${column}` : column;

/**
 * Migrations whose items workers may take: running in copy or validate, or
 * rolling back its items. `m` is the alias of `dm_migrations` in `q`, when
 * it is joined. Shared with the queue-depth gauge (MetricsStore), so the
 * gauge counts exactly the work claims hand out.
 */
export function whereActive(q: Knex.QueryBuilder, m = '') {
  return q.where(w =>
    w
      .where(r =>
        r
          .where(col(m, 'state'), 'running')
          .whereIn(col(m, 'phase'), ['copy', 'validate']),
      )
      .orWhere(r =>
        r
          .where(col(m, 'state'), 'rolling-back')
          .where(col(m, 'phase'), 'rollback-items'),
      ),
  );
}

function activeMigrations(db: DbClient) {
  return whereActive(db('dm_migrations'));
}

export type Claimable = 'pending' | 'expired';

/**
 * Items that can be claimed now: pending and due, or (`expired`) running on a
 * lease that expired. `wi` is the alias of `dm_work_items` in `q`, when it is
 * joined. Shared with the queue-depth gauge (MetricsStore).
 */
export function whereClaimable(
  q: Knex.QueryBuilder,
  kind: Claimable,
  now: Knex.Raw | number,
  wi = '',
) {
  if (kind === 'pending') {
    return q
      .where(col(wi, 'state'), 'pending')
      .where(n =>
        n
          .whereNull(col(wi, 'not_before'))
          .orWhere(col(wi, 'not_before'), '<=', now),
      );
  }
  return q
    .where(col(wi, 'state'), 'running')
    .where(col(wi, 'lease_expires_at'), '<', now);
}

/**
 * Items of one migration stage that can be claimed now. Equality on
 * (migration_id, stage, state) lets both databases walk the index straight to
 * the candidates instead of scanning finished items on every claim.
 */
function claimableItems(
  q: Knex.QueryBuilder,
  migrationId: string,
  stage: ItemStage,
  kind: Claimable,
  now: Knex.Raw | number,
) {
  return whereClaimable(
    q.where({ migration_id: migrationId, stage }),
    kind,
    now,
  );
}

/**
 * Leases up to `limit` claimable items. PostgreSQL lets concurrent replicas
 * skip each other's locked rows; SQLite has a single writer, so a
 * conditional UPDATE inside one short transaction makes a claim exclusive
 * (and costs one commit per batch rather than per item).
 */
export async function claimItems(
  knex: Knex,
  owner: string,
  leaseMs: number,
  limit: number,
): Promise<WorkItem[]> {
  if (limit <= 0) return [];
  const active: Array<
    Pick<DbMigrationRow, 'id' | 'state' | 'phase' | 'options'>
  > = await activeMigrations(knex).select('id', 'state', 'phase', 'options');
  const claimed: WorkItem[] = [];
  for (const m of active) {
    const stage = (
      m.state === 'rolling-back' ? 'rollback' : m.phase
    ) as ItemStage;
    // A per-migration cap (request option) across all replicas; soft, as
    // two replicas may both see the last free slot.
    const cap: number | undefined = m.options
      ? JSON.parse(m.options).concurrency
      : undefined;
    let capRoom = Infinity;
    if (cap) {
      const [{ n }]: Array<{ n: DbCount }> = await knex('dm_work_items')
        .where({ migration_id: m.id, stage, state: 'running' })
        .where('lease_expires_at', '>=', dbNow(knex))
        .count({ n: '*' });
      capRoom = cap - num(n);
    }
    let taken = 0;
    // Expired leases first: they are the work of a replica that died, and
    // its migration's stage cannot finish before they are redone. Claimed
    // after pending items, they waited for the whole queue to drain
    // (measured: 10-20 s of 2 s leases with three replicas busy).
    for (const kind of ['expired', 'pending'] as Claimable[]) {
      const room = Math.min(limit - claimed.length, capRoom - taken);
      if (room <= 0) break;
      const batch = await claimFrom(
        knex,
        owner,
        leaseMs,
        room,
        m.id,
        stage,
        kind,
      );
      taken += batch.length;
      claimed.push(...batch);
    }
    if (claimed.length >= limit) break;
  }
  return claimed;
}

async function claimFrom(
  knex: Knex,
  owner: string,
  leaseMs: number,
  limit: number,
  migrationId: string,
  stage: ItemStage,
  kind: Claimable,
): Promise<WorkItem[]> {
  // Lease times come from the database's clock on PostgreSQL (clock.ts).
  const now = dbNow(knex);
  const patch: DbWrite<DbWorkItemRow> = {
    state: 'running',
    lease_owner: owner,
    lease_expires_at: dbNowPlus(knex, leaseMs),
    started_at: now,
  };
  // Re-checked in the UPDATE: a cancel or rollback may have moved the
  // migration on since it was listed as active.
  const stillActive = (db: DbClient) =>
    activeMigrations(db).where('id', migrationId).select('id');
  if (isPostgres(knex) && kind === 'expired') {
    // A take-over is rare and worth an event naming the replica that lost
    // the item, so its previous owner is read under the row locks first.
    return knex.transaction(async trx => {
      const taken: Array<Pick<DbWorkItemRow, 'id' | 'lease_owner'>> =
        await claimableItems(
          trx('dm_work_items').select('id', 'lease_owner'),
          migrationId,
          stage,
          kind,
          now,
        )
          .limit(limit)
          .forUpdate()
          .skipLocked();
      if (taken.length === 0) return [];
      const rows: DbWorkItemRow[] = await trx('dm_work_items')
        .whereIn(
          'id',
          taken.map(t => t.id),
        )
        .whereIn('migration_id', stillActive(trx))
        .where('stage', stage)
        .update(patch)
        .returning('*');
      const previous = new Map(taken.map(t => [String(t.id), t.lease_owner]));
      return rows.map(r => ({
        ...fromRow(r),
        reclaimedFrom: previous.get(String(r.id)) ?? undefined,
      }));
    });
  }
  if (isPostgres(knex)) {
    // The MATERIALIZED CTE runs the locking subquery exactly once; inside a
    // plain `IN (…)` PostgreSQL may re-run it and claim more than `limit`.
    const rows: DbWorkItemRow[] = await knex
      .withMaterialized(
        'claimable',
        claimableItems(
          knex('dm_work_items').select('id'),
          migrationId,
          stage,
          kind,
          now,
        )
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .table('dm_work_items')
      .whereIn('id', knex('claimable').select('id'))
      .whereIn('migration_id', stillActive(knex))
      .where('stage', stage)
      .update(patch)
      .returning('*');
    return rows.map(fromRow);
  }
  // SQLite: one machine, so the process clock is the database's clock.
  const nowMs = Date.now();
  const sqlitePatch: DbWrite<DbWorkItemRow> = {
    ...patch,
    lease_expires_at: nowMs + leaseMs,
    started_at: nowMs,
  };
  return knex.transaction(async trx => {
    const candidates: Array<Pick<DbWorkItemRow, 'id' | 'lease_owner'>> =
      await claimableItems(
        trx('dm_work_items').select('id', 'lease_owner'),
        migrationId,
        stage,
        kind,
        nowMs,
      ).limit(limit);
    const ids = candidates.map(r => r.id);
    if (ids.length === 0) return [];
    await claimableItems(trx('dm_work_items'), migrationId, stage, kind, nowMs)
      .whereIn('id', ids)
      .whereIn('migration_id', stillActive(trx))
      .update(sqlitePatch);
    const rows: DbWorkItemRow[] = await trx('dm_work_items')
      .whereIn('id', ids)
      .where({ lease_owner: owner, state: 'running', started_at: nowMs });
    const previous = new Map(candidates.map(c => [c.id, c.lease_owner]));
    return rows.map(r => {
      const item = fromRow(r);
      return kind === 'expired'
        ? { ...item, reclaimedFrom: previous.get(r.id) ?? undefined }
        : item;
    });
  });
}

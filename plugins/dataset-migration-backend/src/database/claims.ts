import { Knex } from 'knex';
import {
  dbNow,
  dbNowPlus,
  DbTakeoverColumns,
  takeoverColumns,
  toTakeover,
} from './clock';
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

/**
 * The stage whose items workers take in a migration row of `dm_migrations`
 * (joined under its table name): `rollback` while rolling back, else its
 * step (`copy` or `validate`).
 */
export const ITEM_STAGE_SQL = `CASE WHEN dm_migrations.state = 'rolling-back' THEN 'rollback' ELSE dm_migrations.phase END`;

/**
 * Active migrations that have an item to claim now. Without the EXISTS, a
 * claim probed every active migration with a few statements each, even those
 * whose items were all done and waited for their driver (measured with 1,000
 * migrations at once: 1.9 M probes for 6,000 claimed items).
 */
function migrationsWithWork(knex: Knex) {
  const now = dbNow(knex);
  return activeMigrations(knex).whereExists(q =>
    q
      .select(knex.raw('1'))
      .from('dm_work_items as wi')
      .whereRaw('wi.migration_id = dm_migrations.id')
      .whereRaw(`wi.stage = ${ITEM_STAGE_SQL}`)
      .where(w =>
        whereClaimable(w, 'pending', now, 'wi').orWhere(e =>
          whereClaimable(e, 'expired', now, 'wi'),
        ),
      ),
  );
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
  budget?: ClaimBudget,
): Promise<WorkItem[]> {
  if (limit <= 0) return [];
  const active: Array<
    Pick<DbMigrationRow, 'id' | 'state' | 'phase' | 'options'>
  > = await migrationsWithWork(knex).select('id', 'state', 'phase', 'options');
  const claimed: WorkItem[] = [];
  let bytes = 0;
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
      const left = budget && {
        maxBytes: budget.maxBytes - bytes,
        minItems: Math.max(0, budget.minItems - claimed.length),
      };
      if (left && left.maxBytes <= 0 && left.minItems === 0) break;
      const batch = await claimFrom(knex, owner, leaseMs, room, m.id, stage, {
        kind,
        budget: left,
      });
      taken += batch.length;
      for (const item of batch) bytes += item.size;
      claimed.push(...batch);
    }
    if (claimed.length >= limit) break;
    if (budget && bytes >= budget.maxBytes && claimed.length >= budget.minItems)
      break;
  }
  return claimed;
}

/**
 * A bound on the bytes of one claim: items are taken while their sizes add
 * up to at most `maxBytes`, but always the first `minItems` (one per worker
 * lane), so large objects still spread over the lanes.
 */
export interface ClaimBudget {
  maxBytes: number;
  minItems: number;
}

/** The candidates a budget keeps, in their order (SQLite, reclaims). */
export function withinBudget<T extends { size: number | string }>(
  candidates: T[],
  budget: ClaimBudget | undefined,
): T[] {
  if (!budget) return candidates;
  let bytes = 0;
  return candidates.filter((c, i) => {
    const size = Number(c.size);
    if (i < budget.minItems || bytes + size <= budget.maxBytes) {
      bytes += size;
      return true;
    }
    return false;
  });
}

/** A claim's candidate row, before the UPDATE that leases it. */
type Candidate = Pick<
  DbWorkItemRow,
  'id' | 'lease_owner' | 'lease_expires_at' | 'size'
>;

/**
 * An item taken over from an expired lease: whose it was, and (read with
 * the candidate) how long that lease had sat expired.
 */
function reclaimed(
  item: WorkItem,
  was: (Candidate & Partial<DbTakeoverColumns>) | undefined,
): WorkItem {
  if (!was?.lease_owner) return item;
  const takeover = toTakeover(was, was.lease_expires_at);
  return {
    ...item,
    reclaimedFrom: was.lease_owner,
    ...(takeover && { takeover }),
  };
}

/**
 * The columns a claim reads of its candidates; a claim of expired leases
 * also reads what {@link reclaimed} reports of the take-over.
 */
function candidateColumns(db: Knex, kind: Claimable): Array<string | Knex.Raw> {
  const columns: Array<string | Knex.Raw> = ['id', 'lease_owner', 'size'];
  if (kind === 'expired') {
    columns.push(
      'lease_expires_at',
      ...takeoverColumns(db, 'dm_work_items.lease_owner'),
    );
  }
  return columns;
}

async function claimFrom(
  knex: Knex,
  owner: string,
  leaseMs: number,
  limit: number,
  migrationId: string,
  stage: ItemStage,
  { kind, budget }: { kind: Claimable; budget?: ClaimBudget },
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
    // the item and how long its lease had been expired, so the previous
    // owner, the old expiry, the database's now and the owner's last
    // heartbeat are read under the row locks first (one statement).
    return knex.transaction(async trx => {
      const locked: Array<Candidate & DbTakeoverColumns> = await claimableItems(
        trx('dm_work_items').select(candidateColumns(trx, kind)),
        migrationId,
        stage,
        kind,
        now,
      )
        .limit(limit)
        .forUpdate()
        .skipLocked();
      const taken = withinBudget(locked, budget);
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
      const previous = new Map(taken.map(t => [String(t.id), t]));
      return rows.map(r => reclaimed(fromRow(r), previous.get(String(r.id))));
    });
  }
  if (isPostgres(knex)) {
    // The MATERIALIZED CTE runs the locking subquery exactly once; inside a
    // plain `IN (…)` PostgreSQL may re-run it and claim more than `limit`.
    // The budget is applied to the locked candidates by a running sum;
    // candidates it leaves out are unlocked when the statement ends.
    const picked = budget
      ? knex.raw(
          `SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n, sum(size) OVER (ORDER BY id) AS total FROM claimable) AS t WHERE n <= ? OR total <= ?`,
          [budget.minItems, budget.maxBytes],
        )
      : knex('claimable').select('id');
    const rows: DbWorkItemRow[] = await knex
      .withMaterialized(
        'claimable',
        claimableItems(
          knex('dm_work_items').select('id', 'size'),
          migrationId,
          stage,
          kind,
          now,
        )
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .with('picked', picked)
      .table('dm_work_items')
      .whereIn('id', knex('picked').select('id'))
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
    const candidates = withinBudget(
      (await claimableItems(
        trx('dm_work_items').select(candidateColumns(trx, kind)),
        migrationId,
        stage,
        kind,
        nowMs,
      ).limit(limit)) as Array<Candidate & Partial<DbTakeoverColumns>>,
      budget,
    );
    const ids = candidates.map(r => r.id);
    if (ids.length === 0) return [];
    await claimableItems(trx('dm_work_items'), migrationId, stage, kind, nowMs)
      .whereIn('id', ids)
      .whereIn('migration_id', stillActive(trx))
      .update(sqlitePatch);
    const rows: DbWorkItemRow[] = await trx('dm_work_items')
      .whereIn('id', ids)
      .where({ lease_owner: owner, state: 'running', started_at: nowMs });
    const previous = new Map(candidates.map(c => [c.id, c]));
    return rows.map(r => {
      const item = fromRow(r);
      return kind === 'expired' ? reclaimed(item, previous.get(r.id)) : item;
    });
  });
}

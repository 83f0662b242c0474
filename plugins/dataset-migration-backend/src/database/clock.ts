import { Knex } from 'knex';
import { isPostgres } from './rowValues';

/**
 * Lease time is the database's time, never a replica's: replicas' clocks
 * drift, and a replica whose clock runs ahead would see every other
 * replica's lease as expired (and steal it), one running behind would hand
 * out leases that outlive their holder. On PostgreSQL every lease expiry is
 * computed and compared in SQL from `clock_timestamp()` (the server's wall
 * clock at the statement, not the start of the transaction). SQLite is one
 * file on one machine, shared only by processes with the same clock, so its
 * leases use the process clock (which also keeps fake timers in tests
 * working).
 *
 * Columns stay epoch milliseconds (bigint), see the init migration.
 */
const PG_NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/** Now, in epoch ms, as a value for a query: SQL on PostgreSQL. */
export function dbNow(knex: Knex): Knex.Raw | number {
  return isPostgres(knex) ? knex.raw(PG_NOW_MS) : Date.now();
}

/** Now plus `ms`, as a value for an UPDATE or a comparison. */
export function dbNowPlus(knex: Knex, ms: number): Knex.Raw | number {
  return isPostgres(knex)
    ? knex.raw(`${PG_NOW_MS} + ?::bigint`, [Math.round(ms)])
    : Date.now() + ms;
}

/** Reads the database's clock (epoch ms), e.g. to report lease ages. */
export async function readDbNow(knex: Knex): Promise<number> {
  if (!isPostgres(knex)) return Date.now();
  const result = await knex.raw(`select ${PG_NOW_MS} as now`);
  return Number(result.rows[0].now);
}

/**
 * How long recovery from a lost lease took, as a take-over saw it: when the
 * previous owner's lease expired, how long it had been expired when another
 * replica took it (both on the database's clock, so no replica's skew enters
 * them), and when the previous owner was last seen (`dm_workers`).
 */
export interface LeaseTakeover {
  /** When the previous owner's lease expired (epoch ms, database clock). */
  leaseExpiredAt: number;
  /** How long the lease had been expired when it was taken over (≥ 0). */
  expiredForMs: number;
  /**
   * The previous owner's last replica heartbeat (`dm_workers.last_seen_at`,
   * epoch ms); undefined when it has no row (pruned, or never registered).
   */
  ownerLastSeenAt?: number;
  /** How long before the take-over that heartbeat was. */
  ownerSilentForMs?: number;
}

/** The columns {@link takeoverColumns} adds to a claim's candidate rows. */
export interface DbTakeoverColumns {
  db_now: number | string;
  owner_last_seen_at: number | string | null;
}

/**
 * Columns for a claim query that reads expired leases, so a take-over learns
 * how long recovery took without a query of its own: the database's now and
 * the last heartbeat of the owner named by `ownerColumn` (qualified, e.g.
 * `dm_work_items.lease_owner`).
 */
export function takeoverColumns(knex: Knex, ownerColumn: string): Knex.Raw[] {
  return [
    isPostgres(knex)
      ? knex.raw(`${PG_NOW_MS} as db_now`)
      : knex.raw('? as db_now', [Date.now()]),
    knex.raw(
      '(select w.last_seen_at from dm_workers w where w.id = ??) as owner_last_seen_at',
      [ownerColumn],
    ),
  ];
}

/**
 * The take-over of a lease that expired at `expiresAt`, from its row;
 * undefined when the row was read without {@link takeoverColumns}.
 */
export function toTakeover(
  row: Partial<DbTakeoverColumns>,
  expiresAt: number | string | null,
): LeaseTakeover | undefined {
  if (expiresAt === null || expiresAt === undefined) return undefined;
  if (row.db_now === undefined) return undefined;
  const now = Number(row.db_now);
  const leaseExpiredAt = Number(expiresAt);
  const lastSeen = row.owner_last_seen_at;
  return {
    leaseExpiredAt,
    expiredForMs: Math.max(0, now - leaseExpiredAt),
    ...(lastSeen !== null &&
      lastSeen !== undefined && {
        ownerLastSeenAt: Number(lastSeen),
        ownerSilentForMs: Math.max(0, now - Number(lastSeen)),
      }),
  };
}

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

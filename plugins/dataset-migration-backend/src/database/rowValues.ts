import { Knex } from 'knex';

/**
 * What the two databases hand back for one column type, and the helpers that
 * turn it into the number or boolean the stores work with. The raw row
 * interfaces of the stores (`Db…Row`) are written in these types, so a
 * mapper cannot forget that a value differs between SQLite and PostgreSQL.
 */

/** A `bigInteger` column (epoch ms, sizes): PostgreSQL returns a string. */
export type DbBigInt = number | string;

/** A `count(*)` or `sum(…)` result: a string on PostgreSQL. */
export type DbCount = number | string;

/** A `boolean` column: SQLite returns 0 or 1. */
export type DbBoolean = boolean | number;

/** A JSON value stored in a `text` column. */
export type DbJson = string;

/** A query runs on the database or inside a transaction. */
export type DbClient = Knex | Knex.Transaction;

/**
 * Values to insert or update in a table whose raw row is `T`: column names
 * are checked, and a value may be SQL (the database clock, see clock.ts).
 */
export type DbWrite<T> = { [K in keyof T]?: T[K] | Knex.Raw };

/** Whether the client speaks PostgreSQL (for `FOR UPDATE SKIP LOCKED`). */
export function isPostgres(knex: Knex): boolean {
  const client = String(knex.client.config.client);
  return client === 'pg' || client === 'postgres' || client === 'postgresql';
}

/** A bigint or count that is never null in practice (null reads as 0). */
export function num(value: DbBigInt | null | undefined): number {
  return value === null || value === undefined ? 0 : Number(value);
}

/** A nullable bigint column. */
export function optNum(value: DbBigInt | null | undefined): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

/** A nullable boolean column (0/1 on SQLite). */
export function optBool(value: DbBoolean | null | undefined): boolean | null {
  return value === null || value === undefined ? null : Boolean(value);
}

/** A nullable text column, `undefined` when null. */
export function optStr<T extends string>(
  value: T | null | undefined,
): T | undefined {
  return value ?? undefined;
}

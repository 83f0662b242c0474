import { Knex } from 'knex';
import { dbNow } from './clock';
import { DbBigInt, isPostgres } from './rowValues';

/** A `dm_rate_limits` row as the database returns it. */
export interface DbRateLimitRow {
  key: string;
  tokens: number;
  updated_at: DbBigInt;
  last_granted: number;
}

/** The bucket a take draws from. */
export interface TokenBucket {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Tokens the bucket holds at most: requests allowed back to back. */
  burst: number;
}

export interface TakeResult {
  /** Tokens taken, 0 … `want`. */
  granted: number;
  /** When none was granted: milliseconds until the bucket has one. */
  waitMs: number;
}

/**
 * Token buckets shared by every replica, one row per key in
 * `dm_rate_limits`. Refills are computed from the database's clock
 * (clock.ts), so replicas with drifting clocks neither add tokens nor lose
 * them; on SQLite that is the process clock, as for leases.
 *
 * A take is one UPDATE that refills, takes and returns what it took: on
 * PostgreSQL the row lock serializes concurrent takes of all replicas, and
 * a take that waited for the lock re-reads the row it updates (READ
 * COMMITTED), so no two takes spend the same token; on SQLite the
 * statement is atomic (writes to one file are serialized). No
 * read-modify-write crosses a round trip.
 */
export class RateLimitStore {
  constructor(private readonly knex: Knex) {}

  /**
   * Takes up to `want` whole tokens from bucket `key`, creating it full on
   * first use. A replica asks for a few at a time and hands them out
   * itself, so not every request costs a round trip.
   */
  async take(
    key: string,
    want: number,
    bucket: TokenBucket,
  ): Promise<TakeResult> {
    const { ratePerSecond, burst } = bucket;
    if (!(ratePerSecond > 0) || !(burst >= 1)) {
      throw new TypeError(
        `RateLimitStore: need a positive rate and a burst ≥ 1 for ${key}`,
      );
    }
    const n = Math.max(1, Math.floor(want));
    let row = await this.update(key, n, bucket);
    if (!row) {
      await this.knex('dm_rate_limits')
        .insert({ key, tokens: burst, updated_at: dbNow(this.knex) })
        .onConflict('key')
        .ignore();
      row = await this.update(key, n, bucket);
    }
    if (!row) throw new Error(`Rate limit bucket ${key} vanished`);
    const granted = Number(row.last_granted);
    return {
      granted,
      waitMs:
        granted > 0
          ? 0
          : Math.ceil(((1 - Number(row.tokens)) * 1000) / ratePerSecond),
    };
  }

  private async update(
    key: string,
    want: number,
    { ratePerSecond, burst }: TokenBucket,
  ): Promise<Pick<DbRateLimitRow, 'tokens' | 'last_granted'> | undefined> {
    if (isPostgres(this.knex)) {
      // One reading of the clock for the whole statement (clock_timestamp
      // changes between calls); every SET expression sees the row as it
      // was, so `available` is the same in each.
      const available = `least(?::float8, b.tokens + greatest(0, n.ms - b.updated_at) * ?::float8 / 1000.0)`;
      const granted = `least(?::int, floor(${available})::int)`;
      const result = await this.knex.raw(
        `update dm_rate_limits as b
            set tokens = ${available} - ${granted},
                last_granted = ${granted},
                updated_at = greatest(b.updated_at, n.ms)
           from (select ? as ms) as n
          where b.key = ?
      returning b.tokens, b.last_granted`,
        [
          burst,
          ratePerSecond,
          want,
          burst,
          ratePerSecond,
          want,
          burst,
          ratePerSecond,
          dbNow(this.knex),
          key,
        ],
      );
      return result.rows[0];
    }
    // SQLite: the process clock, a number.
    const now = dbNow(this.knex) as number;
    const available = `min(?, tokens + max(0, ? - updated_at) * ? / 1000.0)`;
    // Casting a non-negative real to an integer floors it.
    const granted = `min(?, cast(${available} as integer))`;
    const rows: Array<Pick<DbRateLimitRow, 'tokens' | 'last_granted'>> =
      await this.knex.raw(
        `update dm_rate_limits
            set tokens = ${available} - ${granted},
                last_granted = ${granted},
                updated_at = max(updated_at, ?)
          where key = ?
      returning tokens, last_granted`,
        [
          burst,
          now,
          ratePerSecond,
          want,
          burst,
          now,
          ratePerSecond,
          want,
          burst,
          now,
          ratePerSecond,
          now,
          key,
        ],
      );
    return rows[0];
  }
}

import { TestDatabases } from '@backstage/backend-test-utils';
import knexFactory, { Knex } from 'knex';
import { SharedRateLimiter } from '../engine/rateLimitedStore';
import { RateLimitStore } from './RateLimitStore';
import { isPostgres } from './rowValues';

const migrationsDir = `${__dirname}/../../migrations`;

jest.setTimeout(60_000);

/**
 * A second "replica": its own connection pool to the same PostgreSQL
 * database. SQLite is one file shared by the processes of one machine; the
 * test database is in memory, so both replicas use its one connection.
 */
function secondReplica(knex: Knex): Knex {
  if (!isPostgres(knex)) return knex;
  return knexFactory({
    client: knex.client.config.client,
    connection: knex.client.config.connection,
    pool: { min: 0, max: 5 },
  });
}

describe('RateLimitStore', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });

  it.each(databases.eachSupportedId())(
    'starts full, grants what is there, and says how long to wait, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await knex.migrate.latest({ directory: migrationsDir });
      const store = new RateLimitStore(knex);
      const bucket = { ratePerSecond: 2, burst: 5 };

      expect(await store.take('s3://a', 3, bucket)).toEqual({
        granted: 3,
        waitMs: 0,
      });
      expect(await store.take('s3://a', 10, bucket)).toEqual({
        granted: 2,
        waitMs: 0,
      });
      // Empty: one token takes 500 ms at 2 per second (a little less has
      // accrued since the last take).
      const empty = await store.take('s3://a', 1, bucket);
      expect(empty.granted).toBe(0);
      expect(empty.waitMs).toBeGreaterThan(300);
      expect(empty.waitMs).toBeLessThanOrEqual(500);
      // Buckets are independent.
      expect((await store.take('gs://b', 1, bucket)).granted).toBe(1);

      await new Promise(r => setTimeout(r, empty.waitMs + 50));
      expect((await store.take('s3://a', 10, bucket)).granted).toBe(1);

      const rows = await knex('dm_rate_limits').orderBy('key');
      expect(rows.map(r => r.key)).toEqual(['gs://b', 's3://a']);
      expect(Number(rows[1].tokens)).toBeLessThan(1);
      await expect(
        store.take('s3://a', 1, { ratePerSecond: 0, burst: 1 }),
      ).rejects.toThrow(/positive rate/);
    },
  );

  it.each(databases.eachSupportedId())(
    'never grants a token twice, however many takes race, %p',
    async databaseId => {
      const knexA = await databases.init(databaseId);
      await knexA.migrate.latest({ directory: migrationsDir });
      const knexB = secondReplica(knexA);
      const stores = [new RateLimitStore(knexA), new RateLimitStore(knexB)];
      // 50 tokens and (almost) no refill: 120 takes of 1–3 at once, from
      // two pools, must share exactly 50.
      const bucket = { ratePerSecond: 0.001, burst: 50 };
      const results = await Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          stores[i % 2].take('s3://race', 1 + (i % 3), bucket),
        ),
      );
      expect(results.reduce((n, r) => n + r.granted, 0)).toBe(50);
      if (knexB !== knexA) await knexB.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'holds a shared rate across two replicas acquiring at once, %p',
    async databaseId => {
      const knexA = await databases.init(databaseId);
      await knexA.migrate.latest({ directory: migrationsDir });
      const knexB = secondReplica(knexA);
      const bucket = { ratePerSecond: 40, burst: 10 };
      const replicas = [knexA, knexB].map(
        k =>
          new SharedRateLimiter(new RateLimitStore(k), 's3://shared', bucket),
      );
      const granted = [0, 0];
      const start = Date.now();
      const until = start + 2_000;
      // Eight callers per replica, each sending "requests" back to back.
      await Promise.all(
        replicas.flatMap((limiter, r) =>
          Array.from({ length: 8 }, async () => {
            while (Date.now() < until) {
              await limiter.acquire();
              if (Date.now() <= until) granted[r]++;
            }
          }),
        ),
      );
      const seconds = (Date.now() - start) / 1000;
      const total = granted[0] + granted[1];
      // A full bucket at the start, then the rate: never more, however the
      // replicas race for the row.
      expect(total).toBeLessThanOrEqual(
        bucket.burst + Math.ceil(bucket.ratePerSecond * seconds),
      );
      // …and not much less: tokens a replica held when time ran out are the
      // only ones lost.
      expect(total).toBeGreaterThanOrEqual(
        bucket.burst + bucket.ratePerSecond * 2 - 2 * 10,
      );
      // Both replicas got their share.
      expect(Math.min(...granted)).toBeGreaterThan(total / 5);
      if (knexB !== knexA) await knexB.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'migrates down and up with buckets in the table, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await knex.migrate.latest({ directory: migrationsDir });
      await new RateLimitStore(knex).take('s3://a', 1, {
        ratePerSecond: 1,
        burst: 1,
      });
      await knex.migrate.down({
        directory: migrationsDir,
        name: '20261204200000_rate_limits.js',
      });
      expect(await knex.schema.hasTable('dm_rate_limits')).toBe(false);
      await knex.migrate.latest({ directory: migrationsDir });
      expect(await knex('dm_rate_limits')).toEqual([]);
    },
  );
});

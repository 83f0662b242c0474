import { Knex } from 'knex';
import { TestDatabases } from '@backstage/backend-test-utils';
import { MigrationStore } from './MigrationStore';
import { WorkItemStore } from './WorkItemStore';
import { readDbNow } from './clock';

const migrationsDir = `${__dirname}/../../migrations`;
const TEN_MINUTES = 10 * 60_000;

jest.setTimeout(60_000);

/**
 * Two replicas share one PostgreSQL; one replica's clock runs 10 minutes
 * ahead (or behind). Leases are the database's time, so neither replica's
 * clock decides whether a lease has expired.
 */
describe('leases on the database clock', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16'] });
  let knex: Knex;

  beforeAll(async () => {
    knex = await databases.init('POSTGRES_16');
    await knex.migrate.latest({ directory: migrationsDir });
  });

  afterEach(() => jest.restoreAllMocks());

  async function seed(id: string, items: number) {
    await knex('dm_migrations').insert({
      id,
      dataset: 'resource:default/plays',
      source_location: 'file:///src',
      target_location: 'file:///dst',
      strategy: 'bulk-copy',
      state: 'running',
      phase: 'copy',
      created_by: 'user:default/tester',
      created_at: 1,
      updated_at: 1,
    });
    await new WorkItemStore(knex).insertBatch(
      id,
      Array.from({ length: items }, (_, i) => ({ key: `k${i}`, size: 1 })),
    );
  }

  /** Runs `fn` while this process's clock is off by `skewMs`. */
  async function skewed<T>(skewMs: number, fn: () => Promise<T>): Promise<T> {
    const real = Date.now.bind(Date);
    const spy = jest
      .spyOn(Date, 'now')
      .mockImplementation(() => real() + skewMs);
    try {
      return await fn();
    } finally {
      spy.mockRestore();
    }
  }

  it('a replica whose clock runs ahead does not steal live leases', async () => {
    await seed('ahead', 4);
    const a = new WorkItemStore(knex);
    const b = new WorkItemStore(knex);
    const mine = await a.claim('replica-a', 30_000, 4);
    expect(mine).toHaveLength(4);

    // With process clocks, replica B (10 min ahead) would see A's 30 s
    // leases as long expired and take every item over.
    const stolen = await skewed(TEN_MINUTES, () =>
      b.claim('replica-b', 30_000, 4),
    );
    expect(stolen).toEqual([]);
    const counts = await skewed(TEN_MINUTES, () =>
      b.stageCounts('ahead', 'copy'),
    );
    expect(counts.leased).toBe(4);

    const rows = await knex('dm_work_items').where('migration_id', 'ahead');
    const dbNow = await readDbNow(knex);
    for (const r of rows) {
      expect(r.lease_owner).toBe('replica-a');
      const expires = Number(r.lease_expires_at);
      expect(expires).toBeGreaterThan(dbNow + 25_000);
      expect(expires).toBeLessThan(dbNow + 31_000);
    }
  });

  it('a replica whose clock runs behind cannot make its leases outlive it', async () => {
    await seed('behind', 2);
    const a = new WorkItemStore(knex);
    const b = new WorkItemStore(knex);
    // Replica A's clock is 10 minutes behind: with process clocks its 1 s
    // leases would have expired 10 minutes ago, and its heartbeats would
    // not keep them alive. On the database clock they hold for 1 s.
    const held = await skewed(-TEN_MINUTES, () =>
      a.claim('replica-a', 1_000, 2),
    );
    expect(held).toHaveLength(2);
    expect(await b.claim('replica-b', 1_000, 2)).toEqual([]);
    await skewed(-TEN_MINUTES, () =>
      a.heartbeat(
        held.map(i => i.id),
        'replica-a',
        1_500,
      ),
    );
    await new Promise(r => setTimeout(r, 1_100));
    // The heartbeat moved expiry 1.5 s past the database's now.
    expect(await b.claim('replica-b', 1_000, 2)).toEqual([]);
    await new Promise(r => setTimeout(r, 600));
    // Replica A stopped heart-beating: its leases expire on the database's
    // clock, and B takes the items over, told whom it took them from.
    const taken = await b.claim('replica-b', 1_000, 2);
    expect(taken.map(i => i.reclaimedFrom)).toEqual(['replica-a', 'replica-a']);
    // How long the leases sat expired is the database's time too: on A's
    // clock they expired 10 minutes before they were taken over.
    for (const { takeover } of taken) {
      expect(takeover!.expiredForMs).toBeGreaterThanOrEqual(0);
      expect(takeover!.expiredForMs).toBeLessThan(1_000);
    }
    // A's late write is refused: it lost the lease.
    expect(await a.update(held[0], 'replica-a', { state: 'done' })).toBe(false);
    expect(await b.update(taken[0], 'replica-b', { state: 'done' })).toBe(true);
  });

  it('driver leases follow the database clock too', async () => {
    await seed('driver', 0);
    await knex('dm_migrations')
      .where('id', 'driver')
      .update({ state: 'queued', phase: null });
    const a = new MigrationStore(knex);
    const b = new MigrationStore(knex);
    const claimed = await skewed(-TEN_MINUTES, () =>
      a.claimDriver('replica-a', 1_000, ['queued'], 1),
    );
    expect(claimed.map(m => m.id)).toEqual(['driver']);
    // B is 10 minutes ahead; A's lease is live on the database's clock.
    expect(
      await skewed(TEN_MINUTES, () =>
        b.claimDriver('replica-b', 1_000, ['queued'], 1),
      ),
    ).toEqual([]);
    await skewed(-TEN_MINUTES, () =>
      a.heartbeatDriver('driver', 'replica-a', 1_000),
    );
    expect(
      await skewed(TEN_MINUTES, () =>
        b.claimDriver('replica-b', 1_000, ['queued'], 1),
      ),
    ).toEqual([]);
    await new Promise(r => setTimeout(r, 1_100));
    const taken = await skewed(TEN_MINUTES, () =>
      b.claimDriver('replica-b', 1_000, ['queued'], 1),
    );
    expect(taken.map(m => [m.id, m.previousDriver])).toEqual([
      ['driver', 'replica-a'],
    ]);
    // Expired about 0.1 s before, by the database's clock (by B's, which
    // is 10 minutes ahead, 10 minutes before).
    expect(taken[0].takeover!.expiredForMs).toBeGreaterThanOrEqual(0);
    expect(taken[0].takeover!.expiredForMs).toBeLessThan(1_000);
  });

  it("a retry's backoff is the database's time, whatever the replica's clock", async () => {
    await seed('retry', 2);
    // Only this migration's items are claimable (the others share the
    // database).
    await knex('dm_migrations')
      .whereNot('id', 'retry')
      .update({ state: 'succeeded' });
    const a = new WorkItemStore(knex);
    const b = new WorkItemStore(knex);
    const [early, late] = await a.claim('replica-a', 30_000, 2);
    const before = await readDbNow(knex);
    // One retry is recorded by a replica whose clock runs 10 minutes ahead
    // (with its clock, the item would wait 10 minutes fleet-wide), the
    // other by one 10 minutes behind (it would be due at once).
    const retry = { state: 'pending' as const, attempts: 1, dueInMs: 800 };
    expect(
      await skewed(TEN_MINUTES, () => a.update(early, 'replica-a', retry)),
    ).toBe(true);
    expect(
      await skewed(-TEN_MINUTES, () => a.update(late, 'replica-a', retry)),
    ).toBe(true);
    const after = await readDbNow(knex);
    for (const r of await knex('dm_work_items').where(
      'migration_id',
      'retry',
    )) {
      expect(Number(r.not_before)).toBeGreaterThanOrEqual(before + 800);
      expect(Number(r.not_before)).toBeLessThanOrEqual(after + 800);
    }
    // Neither is claimable during its backoff, by a replica at any skew...
    expect(await b.claim('replica-b', 30_000, 2)).toEqual([]);
    expect(
      await skewed(TEN_MINUTES, () => b.claim('replica-b', 30_000, 2)),
    ).toEqual([]);
    // ...and both are once it has passed.
    await new Promise(r => setTimeout(r, 1_000));
    const retried = await skewed(-TEN_MINUTES, () =>
      b.claim('replica-b', 30_000, 2),
    );
    expect(retried.map(i => [i.key, i.attempts]).sort()).toEqual([
      [early.key, 1],
      [late.key, 1],
    ]);
  });
});

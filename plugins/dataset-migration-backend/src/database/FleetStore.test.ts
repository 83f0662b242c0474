import { Knex } from 'knex';
import { TestDatabases } from '@backstage/backend-test-utils';
import { FleetStore, GONE_RETENTION_MS } from './FleetStore';
import { MetricsStore } from './MetricsStore';
import { WorkItemStore } from './WorkItemStore';
import { readDbNow } from './clock';

const migrationsDir = `${__dirname}/../../migrations`;

jest.setTimeout(60_000);

const TEN_MINUTES = 10 * 60_000;

async function addMigration(
  knex: Knex,
  id: string,
  state: string,
  phase: string | null,
  updatedAt = 1,
) {
  await knex('dm_migrations').insert({
    id,
    dataset: 'resource:default/plays',
    source_location: 'file:///src',
    target_location: 'file:///dst',
    strategy: 'bulk-copy',
    state,
    phase,
    created_by: 'user:default/tester',
    created_at: 1,
    updated_at: updatedAt,
  });
}

async function addItem(
  knex: Knex,
  migrationId: string,
  key: string,
  fields: Record<string, unknown>,
) {
  await knex('dm_work_items').insert({
    migration_id: migrationId,
    key,
    size: 10,
    stage: 'copy',
    state: 'pending',
    attempts: 0,
    ...fields,
  });
}

/** An event as itemBatch.ts writes it (details is JSON text). */
async function addEvent(
  knex: Knex,
  migrationId: string,
  type: string,
  createdAt: number,
  details: Record<string, unknown>,
) {
  await knex('dm_events').insert({
    migration_id: migrationId,
    type,
    level: 'warn',
    message: type,
    created_at: createdAt,
    details: JSON.stringify(details),
  });
}

/** Runs `fn` while this process's clock is off by `skewMs`. */
async function skewed<T>(skewMs: number, fn: () => Promise<T>): Promise<T> {
  const real = Date.now.bind(Date);
  const spy = jest.spyOn(Date, 'now').mockImplementation(() => real() + skewMs);
  try {
    return await fn();
  } finally {
    spy.mockRestore();
  }
}

describe('FleetStore', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });

  it.each(databases.eachSupportedId())(
    'lists stopped and silent replicas as gone, with their leases, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await knex.migrate.latest({ directory: migrationsDir });
      await knex('dm_migrations').insert({
        id: 'm1',
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
      const items = new WorkItemStore(knex);
      await items.insertBatch(
        'm1',
        Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, size: 1 })),
      );
      const fleet = new FleetStore(knex);
      await fleet.heartbeat('a', 3);
      await fleet.heartbeat('b', 1);
      await fleet.heartbeat('c', 2);
      await fleet.heartbeat('d', 0);
      expect(await items.claim('a', 60_000, 3)).toHaveLength(3);
      expect(await items.claim('b', 60_000, 1)).toHaveLength(1);
      await fleet.remove('b'); // graceful stop
      const now = await readDbNow(knex);
      // c died a minute ago; d is past the retention and gets pruned.
      await knex('dm_workers')
        .where('id', 'c')
        .update({ last_seen_at: now - 60_000 });
      await knex('dm_workers')
        .where('id', 'd')
        .update({ last_seen_at: now - GONE_RETENTION_MS - 1 });

      const status = await fleet.status(10_000);
      expect(status.inFlight).toBe(4);
      expect(
        status.workers.map(w => [
          w.id,
          w.state,
          w.inFlight,
          w.leasedItems,
          w.stoppedAt !== undefined,
        ]),
      ).toEqual([
        ['a', 'active', 3, 3, false],
        ['b', 'gone', 0, 1, true],
        ['c', 'gone', 0, 0, false],
      ]);
      expect(Date.parse(status.workers[2].lastSeenAt)).toBe(now - 60_000);
      expect(await knex('dm_workers').where('id', 'd')).toEqual([]);

      // A replica that comes back is active again.
      await fleet.heartbeat('c', 1);
      const again = await fleet.status(10_000);
      expect(again.workers.find(w => w.id === 'c')?.state).toBe('active');
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'reports the copy error rate and throughput of the last minute by the database clock, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await knex.migrate.latest({ directory: migrationsDir });
      const now = await readDbNow(knex);
      await addMigration(knex, 'run', 'running', 'copy');
      // Failed on its last copy failure 15 s ago: its events still count.
      await addMigration(knex, 'fail', 'failed', null, now - 15_000);
      // Copied 10 s ago (in the window) and 90 s ago (not).
      for (const key of ['a', 'b', 'c']) {
        await addItem(knex, 'run', key, {
          state: 'done',
          copied_at: now - 10_000,
        });
      }
      await addItem(knex, 'run', 'old', {
        state: 'done',
        copied_at: now - 90_000,
      });
      const copy = (key: string) => ({ key, stage: 'copy', attempt: 1 });
      await addEvent(knex, 'run', 'item-retry', now - 5_000, copy('d'));
      // The retried item ran again since: its row no longer shows the retry.
      await addEvent(knex, 'run', 'item-retry', now - 30_000, copy('a'));
      await addEvent(knex, 'fail', 'item-failed', now - 20_000, copy('e'));
      // Not in the window, not the copy stage, not an attempt's end.
      await addEvent(knex, 'run', 'item-retry', now - 120_000, copy('f'));
      await addEvent(knex, 'run', 'item-retry', now - 5_000, {
        key: 'g"stage":"copy"',
        stage: 'validate',
        attempt: 1,
      });
      await addEvent(knex, 'run', 'lease-reclaimed', now - 5_000, copy('h'));

      const fleet = new FleetStore(knex);
      const expected = {
        throughput: { itemsPerMinute: 3, bytesPerMinute: 30 },
        errors: { retried: 2, failed: 1, attempts: 6, rate: 0.5 },
      };
      expect(await fleet.status(10_000)).toMatchObject(expected);

      // The replica answering GET /fleet has a skewed clock: the window is
      // the database's last minute all the same. (SQLite's clock is the
      // process's own, so there is no other clock to skew from.)
      const skews =
        databaseId === 'POSTGRES_16' ? [TEN_MINUTES, -TEN_MINUTES] : [];
      for (const skew of skews) {
        expect(await skewed(skew, () => fleet.status(10_000))).toMatchObject(
          expected,
        );
      }

      // Nothing attempted: a rate of 0, not NaN.
      await knex('dm_events').delete();
      await knex('dm_work_items').delete();
      expect((await fleet.status(10_000)).errors).toEqual({
        retried: 0,
        failed: 0,
        attempts: 0,
        rate: 0,
      });
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'migrates the event type/time index down and up with events in the table, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await knex.migrate.latest({ directory: migrationsDir });
      await addMigration(knex, 'run', 'running', 'copy');
      const now = await readDbNow(knex);
      await addEvent(knex, 'run', 'item-retry', now - 1_000, {
        key: 'a',
        stage: 'copy',
      });
      await knex.migrate.down({
        directory: migrationsDir,
        name: '20261206100000_event_type_time.js',
      });
      await knex.migrate.latest({ directory: migrationsDir });
      expect((await new FleetStore(knex).status(10_000)).errors).toMatchObject({
        retried: 1,
        failed: 0,
      });
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'counts claimable items as queue depth, exactly as the metric does, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await knex.migrate.latest({ directory: migrationsDir });
      const now = await readDbNow(knex);
      await addMigration(knex, 'copying', 'running', 'copy');
      await addMigration(knex, 'paused', 'paused', 'copy');
      for (const key of ['p1', 'p2', 'p3']) {
        await addItem(knex, 'copying', key, {});
      }
      await addItem(knex, 'copying', 'due', { not_before: now - 1_000 });
      await addItem(knex, 'copying', 'expired', {
        state: 'running',
        lease_owner: 'dead',
        lease_expires_at: now - 1_000,
      });
      // Not claimable: a retry backing off, a live lease, an item of another
      // stage, a paused migration's item.
      await addItem(knex, 'copying', 'backoff', {
        not_before: now + 60_000,
        attempts: 1,
      });
      await addItem(knex, 'copying', 'live', {
        state: 'running',
        lease_owner: 'a',
        lease_expires_at: now + 60_000,
      });
      await addItem(knex, 'copying', 'later', { stage: 'validate' });
      await addItem(knex, 'paused', 'p1', {});

      const status = await new FleetStore(knex).status(10_000);
      expect(status.queueDepth).toBe(5);
      const metric = await new MetricsStore(knex).queueDepth();
      expect(metric.copy + metric.validate + metric.rollback).toBe(
        status.queueDepth,
      );
      await knex.destroy();
    },
  );
});

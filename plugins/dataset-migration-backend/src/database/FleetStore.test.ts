import { TestDatabases } from '@backstage/backend-test-utils';
import { FleetStore, GONE_RETENTION_MS } from './FleetStore';
import { WorkItemStore } from './WorkItemStore';
import { readDbNow } from './clock';

const migrationsDir = `${__dirname}/../../migrations`;

jest.setTimeout(60_000);

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
});

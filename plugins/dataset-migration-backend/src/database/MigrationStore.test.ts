import { Knex } from 'knex';
import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';
import type { MigrationPlan } from '@internal/backstage-plugin-dataset-migration-common';
import { EventStore, NewEvent } from './EventStore';
import { MigrationStore } from './MigrationStore';
import { migrateLatest, migrationRow } from './__testUtils__/fixtures';

jest.setTimeout(60_000);

describe('MigrationStore', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_16'] });

  async function setup(databaseId: TestDatabaseId) {
    const knex = await migrateLatest(await databases.init(databaseId));
    return {
      knex,
      store: new MigrationStore(knex),
      events: new EventStore(knex),
    };
  }

  const event = (migrationId: string, message = 'moved'): NewEvent => ({
    migrationId,
    type: 'state-changed',
    message,
    actor: 'user:default/tester',
    details: { why: 'test' },
  });

  async function eventCount(knex: Knex, migrationId: string) {
    const [{ n }] = await knex('dm_events')
      .where('migration_id', migrationId)
      .count({ n: '*' });
    return Number(n);
  }

  it.each(databases.eachSupportedId())(
    'stores a migration and reads it back with the same values, %p',
    async databaseId => {
      const { knex, store } = await setup(databaseId);
      const plan = { snapshotHash: 'abc' } as unknown as MigrationPlan;
      const row = migrationRow('m1', {
        sourceFormat: 'csv',
        options: { concurrency: 3 },
        plan,
        reason: 'because',
        datasetOwner: 'group:default/data',
        // Beyond 2^31: a bigint column, a string on PostgreSQL.
        createdAt: 5_000_000_000_000,
        updatedAt: 5_000_000_000_001,
      });
      await store.insert(row);

      await expect(store.get('m1')).resolves.toEqual({
        ...row,
        phaseStartedAt: 5_000_000_000_000,
      });
      await expect(store.get('nope')).resolves.toBeUndefined();
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'lists newest first, filtered by dataset, owner and state, %p',
    async databaseId => {
      const { knex, store } = await setup(databaseId);
      await store.insert(migrationRow('a', { createdAt: 1 }));
      await store.insert(
        migrationRow('b', { createdAt: 2, datasetOwner: 'group:default/x' }),
      );
      await store.insert(
        migrationRow('c', {
          createdAt: 3,
          dataset: 'resource:default/other',
          state: 'failed',
        }),
      );
      const ids = async (filter: Parameters<MigrationStore['list']>[0]) => {
        const { rows, totalCount } = await store.list(filter);
        return { ids: rows.map(r => r.id), totalCount };
      };

      await expect(ids({ limit: 10, offset: 0 })).resolves.toEqual({
        ids: ['c', 'b', 'a'],
        totalCount: 3,
      });
      await expect(ids({ limit: 1, offset: 1 })).resolves.toEqual({
        ids: ['b'],
        totalCount: 3,
      });
      await expect(
        ids({ dataset: 'resource:default/plays', limit: 10, offset: 0 }),
      ).resolves.toEqual({ ids: ['b', 'a'], totalCount: 2 });
      await expect(
        ids({ owner: 'group:default/x', limit: 10, offset: 0 }),
      ).resolves.toEqual({ ids: ['b'], totalCount: 1 });
      await expect(
        ids({ state: 'failed', limit: 10, offset: 0 }),
      ).resolves.toEqual({ ids: ['c'], totalCount: 1 });
      // The readable datasets of a caller: an IN list, split past 1,000.
      const many = Array.from({ length: 2500 }, (_, i) => `resource:x/d${i}`);
      await expect(
        ids({
          datasets: [...many, 'resource:default/other'],
          limit: 10,
          offset: 0,
        }),
      ).resolves.toEqual({ ids: ['c'], totalCount: 1 });
      await expect(
        ids({ datasets: [], limit: 10, offset: 0 }),
      ).resolves.toEqual({ ids: [], totalCount: 0 });
      await expect(store.listDatasets({})).resolves.toEqual([
        'resource:default/other',
        'resource:default/plays',
      ]);
      await expect(store.listDatasets({ state: 'running' })).resolves.toEqual([
        'resource:default/plays',
      ]);
      await expect(store.countByState()).resolves.toEqual({
        running: 2,
        failed: 1,
      });
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'transitions only from the given states, and writes the event only then, %p',
    async databaseId => {
      const { knex, store, events } = await setup(databaseId);
      await store.insert(
        migrationRow('m1', { state: 'queued', phase: undefined }),
      );

      await expect(
        store.transition(
          'm1',
          ['running'],
          { state: 'cancelled' },
          event('m1'),
        ),
      ).resolves.toBe(false);
      expect((await store.get('m1'))?.state).toBe('queued');
      expect(await eventCount(knex, 'm1')).toBe(0);

      await expect(
        store.transition(
          'm1',
          ['queued'],
          { state: 'running', phase: 'preflight' },
          event('m1', 'queued → running'),
        ),
      ).resolves.toBe(true);
      const running = await store.get('m1');
      expect(running).toMatchObject({ state: 'running', phase: 'preflight' });
      expect(running?.phaseStartedAt).toEqual(expect.any(Number));
      expect(running?.finishedAt).toBeUndefined();
      await expect(events.list('m1', { after: 0, limit: 10 })).resolves.toEqual(
        [
          expect.objectContaining({
            type: 'state-changed',
            level: 'info',
            message: 'queued → running',
            actor: 'user:default/tester',
            details: { why: 'test' },
          }),
        ],
      );

      // A final state records when it finished; phase null clears the step.
      await expect(
        store.transition('m1', ['running'], {
          state: 'succeeded',
          phase: null,
          cutoverAt: 42,
        }),
      ).resolves.toBe(true);
      expect(await store.get('m1')).toMatchObject({
        state: 'succeeded',
        phase: undefined,
        phaseStartedAt: undefined,
        cutoverAt: 42,
        finishedAt: expect.any(Number),
      });
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'lets exactly one of two racing transitions win, with one event, %p',
    async databaseId => {
      const { knex } = await setup(databaseId);
      const a = new MigrationStore(knex);
      const b = new MigrationStore(knex);
      await a.insert(migrationRow('m1'));

      const results = await Promise.all([
        a.transition(
          'm1',
          ['running'],
          { state: 'cancelled' },
          event('m1', 'a'),
        ),
        b.transition('m1', ['running'], { state: 'failed' }, event('m1', 'b')),
      ]);

      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results[0] ? 'a' : 'b';
      expect((await a.get('m1'))?.state).toBe(
        winner === 'a' ? 'cancelled' : 'failed',
      );
      const rows = await knex('dm_events').where('migration_id', 'm1');
      expect(rows.map(r => r.message)).toEqual([winner]);
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'keeps the state when its event cannot be written (one transaction), %p',
    async databaseId => {
      const { knex, store } = await setup(databaseId);
      await store.insert(migrationRow('m1'));
      // `message` is NOT NULL: the event insert fails after the update.
      const broken = { ...event('m1'), message: null as unknown as string };

      // Matched by message: better-sqlite3's native binding keeps the error
      // class of the first test file a jest worker loads, so `toThrow()`
      // does not recognise it as an Error in later files.
      const notNull = /NOT NULL|not-null/;
      await expect(
        store.transition('m1', ['running'], { state: 'cancelled' }, broken),
      ).rejects.toMatchObject({ message: expect.stringMatching(notNull) });
      await expect(
        store.setPhase('m1', 'running', 'validate', broken),
      ).rejects.toMatchObject({ message: expect.stringMatching(notNull) });

      expect(await store.get('m1')).toMatchObject({
        state: 'running',
        phase: 'copy',
      });
      expect(await eventCount(knex, 'm1')).toBe(0);
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'refuses a rollback transition once backups of overwritten objects are purged, %p',
    async databaseId => {
      const { knex, store } = await setup(databaseId);
      await store.insert(migrationRow('none', { state: 'failed' }));
      await store.insert(migrationRow('some', { state: 'failed' }));
      await store.markBackupsPurged('none', ['failed'], 0);
      await store.markBackupsPurged('some', ['failed'], 2);
      const to = { state: 'rolling-back', requireBackups: true } as const;

      await expect(store.transition('none', ['failed'], to)).resolves.toBe(
        true,
      );
      await expect(store.transition('some', ['failed'], to)).resolves.toBe(
        false,
      );
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'sets the step only while the migration is in the given state, %p',
    async databaseId => {
      const { knex, store } = await setup(databaseId);
      await store.insert(migrationRow('m1', { createdAt: 1 }));
      const step = { ...event('m1', 'validating'), type: 'step' };

      await expect(
        store.setPhase('m1', 'rolling-back', 'rollback-items', step),
      ).resolves.toBe(false);
      expect(await eventCount(knex, 'm1')).toBe(0);

      await expect(
        store.setPhase('m1', 'running', 'validate', step),
      ).resolves.toBe(true);
      const row = await store.get('m1');
      expect(row?.phase).toBe('validate');
      expect(row?.phaseStartedAt).toBeGreaterThan(1);
      const rows = await knex('dm_events').where('migration_id', 'm1');
      expect(rows.map(r => [r.type, r.message])).toEqual([
        ['step', 'validating'],
      ]);
      // Without an event it is a plain update.
      await expect(store.setPhase('m1', 'running', 'cutover')).resolves.toBe(
        true,
      );
      expect(await eventCount(knex, 'm1')).toBe(1);
      await knex.destroy();
    },
  );
});

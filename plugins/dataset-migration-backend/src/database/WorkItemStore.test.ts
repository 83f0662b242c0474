import { Knex } from 'knex';
import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';
import { MigrationStore } from './MigrationStore';
import { WorkItemStore } from './WorkItemStore';
import { readDbNow } from './clock';
import { migrateLatest, migrationRow } from './__testUtils__/fixtures';

jest.setTimeout(60_000);

describe('WorkItemStore', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_16'] });

  async function setup(databaseId: TestDatabaseId, keys: string[] = []) {
    const knex = await migrateLatest(await databases.init(databaseId));
    await new MigrationStore(knex).insert(migrationRow('m1'));
    const items = new WorkItemStore(knex);
    await items.insertBatch(
      'm1',
      keys.map(key => ({ key, size: 10 })),
    );
    return { knex, items };
  }

  /** Sets columns of the items with these keys directly. */
  async function set(
    knex: Knex,
    keys: string[],
    patch: Record<string, unknown>,
  ) {
    await knex('dm_work_items')
      .where('migration_id', 'm1')
      .whereIn('key', keys)
      .update(patch);
  }

  async function byKey(items: WorkItemStore) {
    const all = [];
    for await (const item of items.iterateByKey('m1')) all.push(item);
    return Object.fromEntries(all.map(i => [i.key, i]));
  }

  it.each(databases.eachSupportedId())(
    'counts progress from an index holding the sizes, and after the index migration is undone and redone, %p',
    async databaseId => {
      const { knex, items } = await setup(databaseId, ['a', 'b', 'c']);
      await set(knex, ['a'], { state: 'done' });
      const expected = {
        totalItems: 3,
        doneItems: 1,
        failedItems: 0,
        totalBytes: 30,
        doneBytes: 10,
      };
      expect((await items.progress(['m1'])).get('m1')).toMatchObject(expected);
      const dir = `${__dirname}/../../migrations`;
      await knex.migrate.down({
        directory: dir,
        name: '20261206200000_item_progress_index.js',
      });
      expect((await items.progress(['m1'])).get('m1')).toMatchObject(expected);
      await knex.migrate.latest({ directory: dir });
      expect((await items.progress(['m1'])).get('m1')).toMatchObject(expected);
      await knex.destroy();
    },
  );

  it('reads progress from the index alone (SQLite says so in its plan)', async () => {
    const { knex } = await setup('SQLITE_3', ['a']);
    const plan = await knex.raw(
      `EXPLAIN QUERY PLAN ${knex('dm_work_items')
        .whereIn('migration_id', ['m1'])
        .groupBy('migration_id', 'stage', 'state')
        .select('migration_id', 'stage', 'state')
        .count({ count: '*' })
        .sum({ bytes: 'size' })
        .toQuery()}`,
    );
    expect(JSON.stringify(plan)).toMatch(
      /COVERING INDEX dm_work_items_progress_idx/,
    );
    await knex.destroy();
  });

  it.each(databases.eachSupportedId())(
    'inserts a snapshot in batches as pending copy items, %p',
    async databaseId => {
      const { knex, items } = await setup(databaseId);
      const objects = Array.from({ length: 120 }, (_, i) => ({
        key: `k${String(i).padStart(3, '0')}`,
        size: 5_000_000_000 + i,
        etag: `e${i}`,
        checksums: { sha256: `s${i}` },
      }));
      await items.insertBatch('m1', objects);
      await items.insertBatch('m1', []);

      const all = Object.values(await byKey(items));
      expect(all).toHaveLength(120);
      expect(all[7]).toEqual(
        expect.objectContaining({
          migrationId: 'm1',
          key: 'k007',
          size: 5_000_000_007,
          sourceEtag: 'e7',
          sourceSha256: 's7',
          stage: 'copy',
          state: 'pending',
          attempts: 0,
          hadOriginal: null,
        }),
      );
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'counts each stage on its own, leases included, %p',
    async databaseId => {
      const { knex, items } = await setup(databaseId, [
        'a',
        'b',
        'c',
        'd',
        'e',
        'f',
      ]);
      const now = await readDbNow(knex);
      const live = {
        state: 'running',
        lease_owner: 'w',
        lease_expires_at: now + 60_000,
      };
      await set(knex, ['a'], live);
      // Running, but its lease lapsed: nobody may be writing it.
      await set(knex, ['b'], { ...live, lease_expires_at: now - 60_000 });
      await set(knex, ['c'], { state: 'done' });
      await set(knex, ['d', 'e'], { ...live, stage: 'validate' });
      await set(knex, ['f'], { stage: 'validate', state: 'failed' });

      await expect(items.stageCounts('m1', 'copy')).resolves.toEqual({
        pending: 0,
        running: 2,
        done: 1,
        failed: 0,
        skipped: 0,
        leased: 1,
      });
      await expect(items.stageCounts('m1', 'validate')).resolves.toEqual({
        pending: 0,
        running: 2,
        done: 0,
        failed: 1,
        skipped: 0,
        leased: 2,
      });
      await expect(items.stageCounts('m1', 'rollback')).resolves.toMatchObject({
        running: 0,
        leased: 0,
      });
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'writes an item only while the caller holds its lease in its stage, %p',
    async databaseId => {
      const { knex, items } = await setup(databaseId, ['a']);
      const [item] = await items.claim('w1', 60_000, 1);

      await expect(items.update(item, 'w2', { state: 'done' })).resolves.toBe(
        false,
      );
      await expect(
        items.update({ ...item, stage: 'validate' }, 'w1', { state: 'done' }),
      ).resolves.toBe(false);
      await expect(
        items.update(item, 'w1', { state: 'done', hadOriginal: true }),
      ).resolves.toBe(true);
      expect((await byKey(items)).a).toMatchObject({
        state: 'done',
        hadOriginal: true,
      });
      // A finished item is no longer leased: a second write is refused.
      await expect(items.update(item, 'w1', { problem: 'x' })).resolves.toBe(
        false,
      );
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'requeues the unfinished items of one stage for a retry, %p',
    async databaseId => {
      const { knex, items } = await setup(databaseId, [
        'pending',
        'running',
        'failed',
        'done',
        'other-stage',
      ]);
      await set(knex, ['running'], {
        state: 'running',
        lease_owner: 'w',
        lease_expires_at: 1,
      });
      await set(knex, ['failed'], {
        state: 'failed',
        attempts: 5,
        not_before: 9,
        last_error: 'boom',
      });
      await set(knex, ['done'], { state: 'done' });
      await set(knex, ['other-stage'], { stage: 'validate', state: 'failed' });

      await expect(items.requeue('m1', 'copy')).resolves.toBe(3);

      const all = await byKey(items);
      for (const key of ['pending', 'running', 'failed']) {
        expect(all[key]).toMatchObject({ state: 'pending', attempts: 0 });
        expect(all[key].lastError).toBeUndefined();
      }
      expect(all.done.state).toBe('done');
      expect(all['other-stage'].state).toBe('failed');
      const leases = await knex('dm_work_items').whereNotNull('lease_owner');
      expect(leases).toEqual([]);
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'moves all items to the next stage, and to rollback only those that touched the target, %p',
    async databaseId => {
      const { knex, items } = await setup(databaseId, ['a', 'b', 'c']);
      await set(knex, ['a'], { state: 'done', had_original: true });
      await set(knex, ['b'], {
        state: 'running',
        had_original: false,
        lease_owner: 'w',
        lease_expires_at: 1,
      });

      await items.startStage('m1', 'validate');
      for (const item of Object.values(await byKey(items))) {
        expect(item).toMatchObject({ stage: 'validate', state: 'pending' });
      }

      await items.startRollback('m1');
      const all = await byKey(items);
      expect(all.a).toMatchObject({ stage: 'rollback', state: 'pending' });
      expect(all.b).toMatchObject({ stage: 'rollback', state: 'pending' });
      // Never written: nothing to restore or delete.
      expect(all.c).toMatchObject({ stage: 'rollback', state: 'skipped' });
      expect(await knex('dm_work_items').whereNotNull('lease_owner')).toEqual(
        [],
      );
      await expect(items.countOverwritten('m1')).resolves.toBe(1);
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'lists the first failures in insertion order, %p',
    async databaseId => {
      const { knex, items } = await setup(databaseId, ['a', 'b', 'c', 'd']);
      await set(knex, ['b', 'c', 'd'], { state: 'failed' });

      const failures = await items.firstFailures('m1', 2);
      expect(failures.map(f => f.key)).toEqual(['b', 'c']);
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'pages through items in byte order of their keys, %p',
    async databaseId => {
      const { knex, items } = await setup(databaseId, ['b', 'é', 'a', 'B']);

      const keys = [];
      for await (const item of items.iterateByKey('m1', 2)) keys.push(item.key);
      expect(keys).toEqual(['B', 'a', 'b', 'é']);
      await knex.destroy();
    },
  );
});

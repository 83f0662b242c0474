import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';
import { MigrationStore } from './MigrationStore';
import { PartStore } from './PartStore';
import { WorkItemStore } from './WorkItemStore';
import { migrateLatest, migrationRow } from './__testUtils__/fixtures';

jest.setTimeout(60_000);

const RANGES = [0, 1, 2, 3, 4, 5].map(i => ({
  number: i + 1,
  offset: i * 100,
  size: i === 5 ? 50 : 100,
}));

describe('PartStore', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_16'] });

  async function setup(databaseId: TestDatabaseId) {
    const knex = await migrateLatest(await databases.init(databaseId));
    await new MigrationStore(knex).insert(migrationRow('m1'));
    const items = new WorkItemStore(knex);
    await items.insertBatch('m1', [{ key: 'big.bin', size: 550 }]);
    const [item] = await items.claim('lane-owner', 60_000, 1);
    return { knex, items, parts: new PartStore(knex), item };
  }

  describe.each(databases.eachSupportedId())('%p', databaseId => {
    it('creates the parts with the upload id only while the item is leased', async () => {
      const { knex, parts, item } = await setup(databaseId);
      expect(await parts.create(item, 'someone-else', 'u0', RANGES)).toBe(
        false,
      );
      expect(await parts.list(item.id)).toEqual([]);
      expect(await parts.create(item, 'lane-owner', 'u1', RANGES)).toBe(true);
      const listed = await parts.list(item.id);
      expect(listed.map(p => [p.number, p.offset, p.size, p.state])).toEqual(
        RANGES.map(r => [r.number, r.offset, r.size, 'pending']),
      );
      const row = await knex('dm_work_items').where('id', item.id).first();
      expect(row.upload_id).toBe('u1');
    });

    it('hands each part to one claimant, however many claim at once', async () => {
      const { parts, item } = await setup(databaseId);
      await parts.create(item, 'lane-owner', 'u1', RANGES);
      const claims = await Promise.all(
        ['a', 'b', 'c', 'd'].map(owner => parts.claim(owner, 60_000, 2)),
      );
      const numbers = claims.flat().map(p => p.number);
      expect(numbers.sort()).toEqual([1, 2, 3, 4, 5, 6]);
      expect(claims.flat()[0]).toMatchObject({
        key: 'big.bin',
        uploadId: 'u1',
        migrationId: 'm1',
      });
      expect(await parts.claim('e', 60_000, 6)).toEqual([]);
      expect(await parts.anyClaimable()).toBe(false);
    });

    it('takes over a part whose lease expired, naming its previous owner', async () => {
      const { parts, item } = await setup(databaseId);
      await parts.create(item, 'lane-owner', 'u1', RANGES.slice(0, 3));
      const [first] = await parts.claim('dead', 1, 1, item.id);
      await new Promise(r => setTimeout(r, 20));
      const taken = await parts.claim('alive', 60_000, 3, item.id);
      expect(taken.map(p => [p.number, p.reclaimedFrom])).toEqual([
        [1, 'dead'],
        [2, undefined],
        [3, undefined],
      ]);
      // The dead owner's late result is refused.
      expect(
        await parts.finish(first.id, 'dead', {
          token: 't',
          sha256: 'x',
          crc32c: '0',
        }),
      ).toBe(false);
      expect(
        await parts.finish(first.id, 'alive', {
          token: 't',
          sha256: 'x',
          crc32c: '0',
        }),
      ).toBe(true);
      expect(await parts.counts(item.id)).toEqual({
        pending: 0,
        running: 2,
        done: 1,
        failed: 0,
      });
    });

    it('holds a retried part back until its backoff ends; a failed one waits for a requeue', async () => {
      const { parts, item } = await setup(databaseId);
      await parts.create(item, 'lane-owner', 'u1', RANGES.slice(0, 2));
      const [p1, p2] = await parts.claim('w', 60_000, 2);
      await parts.fail(p1.id, 'w', {
        attempts: 1,
        lastError: 'reset',
        retryInMs: 60_000,
      });
      await parts.fail(p2.id, 'w', { attempts: 1, lastError: 'no' });
      expect(await parts.claim('w', 60_000, 2)).toEqual([]);
      expect(await parts.counts(item.id)).toMatchObject({
        pending: 1,
        failed: 1,
      });
      expect(await parts.requeueFailed(item.id)).toBe(1);
      const [again] = await parts.claim('w', 60_000, 2);
      expect(again).toMatchObject({ number: 2, attempts: 0 });
    });

    it("adds the written parts of an object still being copied to its migration's progress", async () => {
      const { items, parts, item } = await setup(databaseId);
      await parts.create(item, 'lane-owner', 'u1', RANGES);
      const before = (await items.progress(['m1'])).get('m1')!;
      expect(before).toMatchObject({ doneBytes: 0, totalBytes: 550 });
      const claimed = await parts.claim('w', 60_000, 2);
      for (const p of claimed)
        await parts.finish(p.id, 'w', { token: 't', sha256: 'x', crc32c: '0' });
      const during = (await items.progress(['m1'])).get('m1')!;
      expect(during.doneBytes).toBe(200);
      expect(during.steps?.copy?.doneBytes).toBe(200);
      expect(during.doneItems).toBe(0);
      // Once the object is done it counts whole, its parts no more.
      await items.update(item, 'lane-owner', { state: 'done' });
      const after = (await items.progress(['m1'])).get('m1')!;
      expect(after).toMatchObject({ doneBytes: 550, doneItems: 1 });
    });

    it('gives out no part of a migration that left its copy step', async () => {
      const { knex, parts, item } = await setup(databaseId);
      await parts.create(item, 'lane-owner', 'u1', RANGES);
      await knex('dm_migrations')
        .where('id', 'm1')
        .update({ state: 'cancelled', phase: null });
      expect(await parts.anyClaimable()).toBe(false);
      expect(await parts.claim('w', 60_000, 6)).toEqual([]);
      await knex('dm_migrations')
        .where('id', 'm1')
        .update({ state: 'running', phase: 'validate' });
      expect(await parts.claim('w', 60_000, 6)).toEqual([]);
    });
  });
});

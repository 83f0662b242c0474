import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';
import type { MigrationRow } from './MigrationStore';
import { MigrationStore } from './MigrationStore';
import { WorkItemStore } from './WorkItemStore';
import { claimItems } from './claims';
import { readDbNow } from './clock';
import { migrateLatest, migrationRow } from './__testUtils__/fixtures';

jest.setTimeout(60_000);

const LEASE = 60_000;

describe('claimItems', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_16'] });

  async function setup(
    databaseId: TestDatabaseId,
    items: number,
    migration: Partial<MigrationRow> = {},
  ) {
    const knex = await migrateLatest(await databases.init(databaseId));
    await new MigrationStore(knex).insert(migrationRow('m1', migration));
    await new WorkItemStore(knex).insertBatch(
      'm1',
      Array.from({ length: items }, (_, i) => ({ key: `k${i}`, size: 1 })),
    );
    return knex;
  }

  it.each(databases.eachSupportedId())(
    'leases pending items to the caller, never a live lease twice, %p',
    async databaseId => {
      const knex = await setup(databaseId, 3);

      const first = await claimItems(knex, 'a', LEASE, 2);
      expect(first.map(i => i.state)).toEqual(['running', 'running']);
      expect(first[0].reclaimedFrom).toBeUndefined();
      expect(first[0].takeover).toBeUndefined();
      const second = await claimItems(knex, 'b', LEASE, 5);
      expect(second).toHaveLength(1);
      expect([...first, ...second].map(i => i.key).sort()).toEqual([
        'k0',
        'k1',
        'k2',
      ]);
      // Everything is leased and no lease expired: nothing to take.
      await expect(claimItems(knex, 'c', LEASE, 5)).resolves.toEqual([]);
      const owners = await knex('dm_work_items').select('key', 'lease_owner');
      expect(
        Object.fromEntries(owners.map(o => [o.key, o.lease_owner])),
      ).toEqual(
        Object.fromEntries([
          ...first.map(i => [i.key, 'a']),
          [second[0].key, 'b'],
        ]),
      );
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'takes over an expired lease before pending items, naming its owner, %p',
    async databaseId => {
      const knex = await setup(databaseId, 3);
      const [dead] = await claimItems(knex, 'dead', LEASE, 1);
      const expiredAt = (await readDbNow(knex)) - 1_000;
      await knex('dm_work_items')
        .where('id', dead.id)
        .update({ lease_expires_at: expiredAt });
      // The dead replica's last heartbeat, 3 s ago.
      await knex('dm_workers').insert({
        id: 'dead',
        last_seen_at: expiredAt - 2_000,
        in_flight: 1,
      });

      const [taken] = await claimItems(knex, 'b', LEASE, 1);
      expect(taken).toMatchObject({
        id: dead.id,
        key: dead.key,
        reclaimedFrom: 'dead',
        // How long recovery took, read with the claim.
        takeover: {
          leaseExpiredAt: expiredAt,
          ownerLastSeenAt: expiredAt - 2_000,
        },
      });
      const { expiredForMs, ownerSilentForMs } = taken.takeover!;
      expect(expiredForMs).toBeGreaterThanOrEqual(1_000);
      expect(expiredForMs).toBeLessThan(11_000);
      expect(ownerSilentForMs! - expiredForMs).toBe(2_000);
      const row = await knex('dm_work_items').where('id', dead.id).first();
      expect(row.lease_owner).toBe('b');
      expect(Number(row.lease_expires_at)).toBeGreaterThan(
        await readDbNow(knex),
      );
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    "respects the migration's concurrency cap across owners, %p",
    async databaseId => {
      const knex = await setup(databaseId, 5, { options: { concurrency: 2 } });
      const items = new WorkItemStore(knex);

      const first = await claimItems(knex, 'a', LEASE, 10);
      expect(first).toHaveLength(2);
      await expect(claimItems(knex, 'b', LEASE, 10)).resolves.toEqual([]);
      // A finished item frees one slot.
      await items.update(first[0], 'a', { state: 'done' });
      await expect(claimItems(knex, 'b', LEASE, 10)).resolves.toHaveLength(1);
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'takes items only of migrations in a step with work items, %p',
    async databaseId => {
      const knex = await setup(databaseId, 2, { phase: 'snapshot' });
      await expect(claimItems(knex, 'a', LEASE, 5)).resolves.toEqual([]);

      await knex('dm_migrations').update({ state: 'cancelled', phase: 'copy' });
      await expect(claimItems(knex, 'a', LEASE, 5)).resolves.toEqual([]);

      // A rollback in its item step takes the rollback items only.
      await knex('dm_migrations').update({
        state: 'rolling-back',
        phase: 'rollback-items',
      });
      await knex('dm_work_items')
        .where('key', 'k1')
        .update({ stage: 'rollback' });
      const claimed = await claimItems(knex, 'a', LEASE, 5);
      expect(claimed.map(i => [i.key, i.stage])).toEqual([['k1', 'rollback']]);
      await knex.destroy();
    },
  );
});

import fs from 'node:fs';
import { Knex } from 'knex';
import { TestDatabases } from '@backstage/backend-test-utils';
import { openDatabase } from './openDatabase';

const migrationsDir = `${__dirname}/../../migrations`;
const migrationsFiles = fs.readdirSync(migrationsDir).sort();

jest.setTimeout(60_000);

describe('schema migrations', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });

  async function seed(knex: Knex) {
    await knex('dm_migrations').insert({
      id: 'm1',
      dataset: 'resource:default/plays',
      source_location: 'file:///data/src',
      target_location: 'file:///data/dst',
      strategy: 'bulk-copy',
      state: 'running',
      phase: 'copy',
      created_by: 'user:default/tester',
      created_at: 1,
      updated_at: 2,
    });
    await knex('dm_work_items').insert({
      migration_id: 'm1',
      key: 'a/b.csv',
      size: 5_000_000_000,
      stage: 'copy',
      state: 'pending',
    });
    await knex('dm_events').insert({
      migration_id: 'm1',
      type: 'created',
      level: 'info',
      message: 'hello',
      created_at: 3,
    });
    await knex('dm_validation_reports').insert({
      migration_id: 'm1',
      passed: true,
      report: '{}',
      created_at: 4,
    });
    await knex('dm_workers').insert({ id: 'w1', last_seen_at: 5 });
  }

  it.each(databases.eachSupportedId())(
    'migrates up and down with data, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      expect(migrationsFiles.every(f => /^\d{14}_[a-z_]+\.js$/.test(f))).toBe(
        true,
      );

      for (const _ of migrationsFiles) {
        await knex.migrate.up({ directory: migrationsDir });
      }
      await seed(knex);
      const [item] = await knex('dm_work_items');
      expect(Number(item.size)).toBe(5_000_000_000);
      expect(await knex('dm_events').count({ n: '*' })).toEqual([
        { n: expect.anything() },
      ]);

      for (const _ of migrationsFiles) {
        await knex.migrate.down({ directory: migrationsDir });
      }
      for (const table of [
        'dm_migrations',
        'dm_work_items',
        'dm_events',
        'dm_validation_reports',
        'dm_workers',
      ]) {
        expect(await knex.schema.hasTable(table)).toBe(false);
      }

      await knex.migrate.latest({ directory: migrationsDir });
      await seed(knex);
      // Deleting a migration takes its items, events and report with it.
      await knex('dm_migrations').where('id', 'm1').delete();
      expect(await knex('dm_work_items')).toEqual([]);
      expect(await knex('dm_events')).toEqual([]);
      await knex.destroy();
    },
  );
});

describe('openDatabase', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_16'] });

  it.each(databases.eachSupportedId())(
    'applies the schema migrations unless told to skip them, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const service = (skip: boolean) => ({
        getClient: async () => knex,
        migrations: { skip },
      });

      await expect(openDatabase(service(true))).resolves.toBe(knex);
      expect(await knex.schema.hasTable('dm_migrations')).toBe(false);

      await openDatabase(service(false));
      for (const table of ['dm_migrations', 'dm_work_items', 'dm_workers']) {
        expect(await knex.schema.hasTable(table)).toBe(true);
      }
      await knex.destroy();
    },
  );
});

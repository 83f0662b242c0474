import { TestDatabases } from '@backstage/backend-test-utils';
import { findCutoverMigration } from './effectiveLocation';

const migrationsDir = `${__dirname}/../../migrations`;

jest.setTimeout(60_000);

const DATASET = 'resource:default/plays';

function row(
  id: string,
  fields: {
    createdAt: number;
    cutoverAt?: number;
    target?: string;
    dataset?: string;
    state?: string;
  },
) {
  return {
    id,
    dataset: fields.dataset ?? DATASET,
    source_location: 'file:///src',
    target_location: fields.target ?? 's3://lake/plays',
    strategy: 'bulk-copy',
    state: fields.state ?? 'succeeded',
    created_by: 'user:default/tester',
    created_at: fields.createdAt,
    updated_at: fields.createdAt,
    cutover_at: fields.cutoverAt ?? null,
  };
}

describe('findCutoverMigration', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });

  it.each(databases.eachSupportedId())(
    'finds the latest cutover to a location among many migrations, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await knex.migrate.latest({ directory: migrationsDir });
      const t = 5_000_000_000_000;
      // The winner was created first, so 600 newer migrations of the same
      // dataset come before it in any listing by creation time.
      const rows = [
        row('winner', { createdAt: t, cutoverAt: t + 10_000 }),
        ...Array.from({ length: 600 }, (_, i) =>
          row(`older-cutover-${i}`, {
            createdAt: t + 1 + i,
            cutoverAt: t + 1 + i,
          }),
        ),
        // Later cutovers that do not count: another location, another
        // dataset, a migration rolled back since.
        row('elsewhere', {
          createdAt: t + 700,
          cutoverAt: t + 20_000,
          target: 's3://lake/plays-v2',
        }),
        row('other-dataset', {
          createdAt: t + 701,
          cutoverAt: t + 20_000,
          dataset: 'resource:default/songs',
        }),
        row('rolled-back', {
          createdAt: t + 702,
          cutoverAt: t + 20_000,
          state: 'rolled-back',
        }),
        row('never-cut-over', { createdAt: t + 703 }),
      ];
      await knex.batchInsert('dm_migrations', rows, 50);

      expect(await findCutoverMigration(knex, DATASET, 's3://lake/plays')).toBe(
        'winner',
      );
      expect(
        await findCutoverMigration(knex, DATASET, 's3://lake/plays-v2'),
      ).toBe('elsewhere');
      expect(
        await findCutoverMigration(knex, DATASET, 's3://lake/nowhere'),
      ).toBeUndefined();
      expect(
        await findCutoverMigration(
          knex,
          'resource:default/songs',
          's3://lake/plays',
        ),
      ).toBe('other-dataset');
      await knex.destroy();
    },
  );
});

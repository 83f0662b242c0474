import path from 'node:path';
import { TestDatabases } from '@backstage/backend-test-utils';
import {
  actor,
  createTestEngine,
  dataset,
  hashTree,
  useTestEngines,
  writeFile,
} from './__testUtils__/harness';

jest.setTimeout(180_000);

const OBJECTS = Number(process.env.STATEMENTS_TEST_OBJECTS ?? 1500);

/**
 * Counts the database statements a whole small-object migration costs
 * (plan, snapshot, copy, validate, report, cutover; BEGIN and COMMIT
 * included): batching claims and item updates must keep it at or under one
 * statement per object.
 */
describe('database statements per object', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });
  const engines = useTestEngines(databases);

  it.each(databases.eachSupportedId())(
    'a migration of many small objects makes ≤ 1 statement per object, %p',
    async databaseId => {
      const src = path.join(engines.root, 'src');
      const dst = path.join(engines.root, 'dst');
      for (let i = 0; i < OBJECTS; i++) {
        await writeFile(src, `part=${i % 8}/f${i}.csv`, `id\n${i}\n`);
      }
      const knex = await databases.init(databaseId);
      const e = await createTestEngine({
        knex,
        roots: [engines.root],
        config: {
          autoApprove: true,
          workers: { concurrency: 4, leaseSeconds: 30, pollIntervalMs: 500 },
        },
      });
      const shapes = new Map<string, number>();
      let statements = 0;
      knex.on('query', (q: { sql: string }) => {
        statements += 1;
        const shape = q.sql.replace(/\?|\$\d+/g, '?').slice(0, 90);
        shapes.set(shape, (shapes.get(shape) ?? 0) + 1);
      });
      // The test's own polling goes through the same database: count what
      // one poll costs and take the polls out of the total.
      const before = statements;
      await e.get('00000000-0000-0000-0000-000000000000');
      const perPoll = statements - before;
      await e.start();
      try {
        const m = await e.create(
          {
            dataset: 'resource:default/plays',
            target: { location: `file://${dst}` },
            strategy: 'bulk-copy',
          },
          dataset(`file://${src}`),
          actor,
        );
        let polls = 0;
        const deadline = Date.now() + 120_000;
        for (;;) {
          polls += 1;
          if (Date.now() > deadline) {
            const events = await e.listEvents(m.id, { after: 0, limit: 1000 });
            throw new Error(
              `Still '${(await e.get(m.id))?.state}' after 2 minutes:\n${events
                .map(v => `${v.type}: ${v.message}`)
                .join('\n')}`,
            );
          }
          const now = await e.get(m.id);
          if (now?.state === 'succeeded') break;
          if (now && ['failed', 'rolled-back', 'cancelled'].includes(now.state))
            throw new Error(`Migration ended ${now.state}: ${now.reason}`);
          await new Promise(r => setTimeout(r, 250));
        }
        const engineStatements = statements - before - perPoll * (polls + 1);
        const perObject = engineStatements / OBJECTS;
        const top = [...shapes.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 10)
          .map(([sql, n]) => `${n}\t${sql}`)
          .join('\n');
        expect(await hashTree(dst, { skipBackups: true })).toEqual(
          await hashTree(src),
        );
        const summary = `${engineStatements} statements for ${OBJECTS} objects (${perObject.toFixed(
          2,
        )} per object); the most frequent:\n${top}`;
        expect(perObject <= 1 ? 'at most 1 per object' : summary).toBe(
          'at most 1 per object',
        );
        // A count of 0 would mean the listener saw nothing: the test is broken.
        expect(perObject).toBeGreaterThan(0.05);
      } finally {
        await e.stop();
      }
    },
  );
});

import fs from 'node:fs/promises';
import path from 'node:path';
import { TestDatabases } from '@backstage/backend-test-utils';
import {
  WrappingBackend,
  actor,
  createTestEngine,
  dataset,
  hashTree,
  tempRoot,
  waitForState,
  writeFile,
} from './__testUtils__/harness';

jest.setTimeout(120_000);

describe('rate limits in the engine', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });

  it.each(databases.eachSupportedId())(
    "hold a limited source's requests to its rate, leaving the target alone, %p",
    async databaseId => {
      const knex = await databases.init(databaseId);
      const root = await tempRoot();
      const src = path.join(root, 'src');
      const dst = path.join(root, 'dst');
      for (let i = 0; i < 30; i++) await writeFile(src, `k${i}.bin`, `v${i}`);
      const rate = 40;
      const burst = 5;
      const engine = await createTestEngine({
        knex,
        roots: [root],
        // Streamed copies: every item reads the source once.
        wrap: local => new WrappingBackend(local, { noServerSideCopy: true }),
        config: {
          rateLimits: [
            { location: `file://${src}/`, requestsPerSecond: rate, burst },
          ],
        },
      });
      try {
        const created = await engine.create(
          {
            dataset: 'resource:default/plays',
            target: { location: `file://${dst}` },
            strategy: 'bulk-copy',
          },
          dataset(`file://${src}`),
          actor,
        );
        const started = Date.now();
        await engine.approve(created.id, actor);
        await engine.start();
        const done = await waitForState(engine, created.id, [
          'succeeded',
          'rolled-back',
        ]);
        const seconds = (Date.now() - started) / 1000;
        expect(done.state).toBe('succeeded');
        expect(await hashTree(dst)).toEqual(await hashTree(src));

        // 30 reads and two listings of the source after approval, against a
        // bucket of 5 that refills at 40/s: at least (32 - 5) / 40 s.
        expect(seconds).toBeGreaterThanOrEqual((32 - burst) / rate - 0.05);
        // One bucket, the source's: the target is not limited.
        const rows = await knex('dm_rate_limits');
        expect(rows.map(r => r.key)).toEqual([`file://${src}`]);
      } finally {
        await engine.stop();
        await fs.rm(root, { recursive: true, force: true });
      }
    },
  );
});

import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  TestDatabases,
  type TestDatabaseId,
} from '@backstage/backend-test-utils';
import {
  WrappingBackend,
  actor,
  allEvents,
  createTestEngine,
  dataset,
  filesUnder,
  hashTree,
  waitForState,
  writeFile,
  tempRoot,
} from './__testUtils__/harness';
import type { MigrationEngine } from './types';

jest.setTimeout(120_000);

const HOUR = 3_600_000;

/**
 * A migration cancelled and never retried: once its retention time passed,
 * the purge also removes what it left unfinished — parted writes of the
 * target that were begun, and staged outputs of transforms in parts.
 */
describe('the purge of a cancelled migration', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });
  let root: string;
  const engines: MigrationEngine[] = [];
  beforeEach(async () => {
    root = await tempRoot();
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map(e => e.stop()));
    await fs.rm(root, { recursive: true, force: true });
  });

  async function cancelledMidway(
    databaseId: TestDatabaseId,
    request: (src: string, dst: string) => any,
    onRead: (key: string, start: number) => boolean,
    config: Record<string, unknown>,
    datasetFormat?: 'csv',
  ) {
    const knex = await databases.init(databaseId);
    const src = path.join(root, 'src');
    const dst = path.join(root, 'dst');
    const control: { cancel?: () => Promise<unknown> } = {};
    let cancelled: Promise<unknown> | undefined;
    const engine = await createTestEngine({
      knex,
      roots: [root],
      wrap: local =>
        new WrappingBackend(local, {
          noServerSideCopy: true,
          async onRead(key, range) {
            if (!cancelled && control.cancel && onRead(key, range?.start ?? 0))
              cancelled = control.cancel();
          },
        }),
      config: {
        workers: { concurrency: 3, leaseSeconds: 1, pollIntervalMs: 20 },
        backups: { retention: { hours: 1 } },
        ...config,
      },
    });
    engines.push(engine);
    const source = dataset(`file://${src}`);
    const m = await engine.create(
      request(src, dst),
      datasetFormat ? { ...source, format: datasetFormat } : source,
      actor,
    );
    await engine.approve(m.id, actor);
    control.cancel = () => engine.cancel(m.id, actor);
    await engine.start();
    await waitForState(engine, m.id, ['cancelled']);
    await cancelled;
    // The lanes give their objects back within a wait, and parts already
    // begun are finished (a cancel does not stop them): nothing is written
    // after this, as long before a purge in real life.
    const busy = async () =>
      (
        await knex('dm_work_items').where({
          migration_id: m.id,
          state: 'running',
        })
      ).length +
      (await knex('dm_parts').where({ migration_id: m.id, state: 'running' }))
        .length;
    for (let i = 0; i < 500 && (await busy()) > 0; i++) {
      await new Promise(r => setTimeout(r, 20));
    }
    expect(await busy()).toBe(0);
    return { knex, engine, id: m.id, src, dst };
  }

  describe.each(databases.eachSupportedId())('%p', databaseId => {
    it('aborts a copy in parts that was begun, and a retry then copies the object afresh', async () => {
      await writeFile(path.join(root, 'src'), 'big.bin', randomBytes(1 << 20));
      await writeFile(path.join(root, 'src'), 'small.txt', 'small');
      let partReads = 0;
      const { knex, engine, id, src, dst } = await cancelledMidway(
        databaseId,
        (_src, d) => ({
          dataset: 'resource:default/plays',
          target: { location: `file://${d}` },
          strategy: 'bulk-copy',
        }),
        (key, start) => key === 'big.bin' && start > 0 && ++partReads === 4,
        {
          workers: {
            concurrency: 3,
            leaseSeconds: 1,
            pollIntervalMs: 20,
            partMiB: 1 / 16,
          },
        },
      );
      const item = () =>
        knex('dm_work_items')
          .where({ migration_id: id, key: 'big.bin' })
          .first();
      expect((await item()).upload_id).toBeTruthy();
      // The begun write: a temp file in the target folder.
      const leftover = (await filesUnder(dst)).filter(
        f => f !== 'small.txt' && f !== 'big.bin',
      );
      expect(leftover.length).toBe(1);

      expect(
        await engine.purgeExpiredBackups(Date.now() + HOUR + 1000),
      ).toEqual({ purged: 1 });
      expect((await filesUnder(dst)).filter(f => f !== 'small.txt')).toEqual(
        [],
      );
      expect((await item()).upload_id).toBeNull();
      expect(
        await knex('dm_parts').where('item_id', (await item()).id),
      ).toEqual([]);
      const purged = (await allEvents(engine, id)).find(
        e => e.type === 'backups-purged',
      );
      expect(purged?.details).toMatchObject({ aborted: 1 });

      await engine.retry(id, actor);
      const end = await waitForState(engine, id, ['succeeded', 'rolled-back']);
      expect(end.state).toBe('succeeded');
      expect(await hashTree(dst)).toEqual(await hashTree(src));
    });

    it('removes the staged outputs of a transform in parts', async () => {
      const rows = ['id,amount'];
      for (let i = 1; i <= 2000; i++) rows.push(`${i},${i}.25`);
      await writeFile(
        path.join(root, 'src'),
        'orders.csv',
        `${rows.join('\n')}\n`,
      );
      const { engine, id } = await cancelledMidway(
        databaseId,
        (_src, d) => ({
          dataset: 'resource:default/plays',
          target: { location: `file://${d}` },
          strategy: 'schema-transform',
          mapping: {
            format: 'csv',
            fields: [{ from: 'id', to: 'order_id', cast: 'bigint' }],
          },
        }),
        // Cancel as the last part starts: the others are staged by then.
        (key, start) => key === 'orders.csv' && start > 10_000,
        {
          transform: {
            spillDirectory: path.join(root, 'spill'),
            partMiB: 4 / 1024,
          },
        },
        'csv',
      );
      const area = path.join(root, '.dataset-migration-backups', id);
      const staged = (await filesUnder(area)).filter(f =>
        f.startsWith('.staging/'),
      );
      expect(staged.length).toBeGreaterThan(0);
      expect(
        await engine.purgeExpiredBackups(Date.now() + HOUR + 1000),
      ).toEqual({ purged: 1 });
      expect(await filesUnder(area)).toEqual([]);
    });
  });
});

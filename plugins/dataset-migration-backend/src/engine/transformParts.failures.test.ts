import fs from 'node:fs/promises';
import path from 'node:path';
import { TestDatabases } from '@backstage/backend-test-utils';
import {
  WrappingBackend,
  actor,
  allEvents,
  createTestEngine,
  waitForState,
  writeFile,
} from './__testUtils__/harness';
import {
  filesUnder,
  mapping,
  ordersCsv,
  wholeTransform,
  writeOrdersParquet,
  useTransformPartsEngines,
} from './__testUtils__/transformParts';

import type { MigrationEngine } from './types';

jest.setTimeout(120_000);

describe('schema-transform in parts: failures, drift, crashes', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });
  const { engines, setup, run, create, configFor, recordingReads } =
    useTransformPartsEngines(databases);

  /** The migration succeeds, with the bytes a whole transform writes. */
  async function expectSucceededAsWhole(
    engine: MigrationEngine,
    id: string,
    whole: Buffer,
  ) {
    const end = await waitForState(engine, id, ['succeeded', 'rolled-back']);
    expect(end.state).toBe('succeeded');
    expect(
      await fs.readFile(path.join(engines.root, 'dst', 'orders.csv'), 'utf8'),
    ).toBe(whole.toString());
  }

  describe.each(databases.eachSupportedId())('%p', databaseId => {
    it("transforms whole a CSV whose quotes are not double quotes, and under badRows 'fail' names a bad row's part", async () => {
      const { root } = engines;
      // Single-quoted fields holding commas: counting double quotes would
      // not know where records end.
      const rows = ['id,amount,note'];
      for (let i = 1; i <= 600; i++) rows.push(`${i},${i}.50,'a, b ${i}'`);
      await writeFile(
        path.join(root, 'src'),
        'orders.csv',
        `${rows.join('\n')}\n`,
      );
      const reads: Array<{ start: number; end?: number }> = [];
      const engine = await setup(databaseId, recordingReads(reads));
      const end = await run(engine, 'csv');
      expect(end.state).toBe('succeeded');
      // Only the cut's look at the head: no part was read.
      expect(reads.filter(r => r.start > 0)).toEqual([]);
      expect(
        await fs.readFile(path.join(root, 'dst', 'orders.csv'), 'utf8'),
      ).toContain('1,1.50,"a, b 1"\n');

      await fs.rm(path.join(root, 'dst'), { recursive: true });
      await writeFile(path.join(root, 'src'), 'orders.csv', ordersCsv());
      const failing = await setup(databaseId);
      const created = await failing.create(
        {
          dataset: 'resource:default/orders',
          target: { location: `file://${path.join(root, 'dst')}` },
          strategy: 'schema-transform',
          mapping: { ...mapping('csv'), badRows: 'fail' },
        },
        {
          ref: 'resource:default/orders',
          location: `file://${path.join(root, 'src')}`,
          format: 'csv',
          consumers: [],
        },
        actor,
      );
      await failing.start();
      const failed = await waitForState(failing, created.id, [
        'succeeded',
        'rolled-back',
      ]);
      expect(failed.state).toBe('rolled-back');
      expect(failed.reason).toMatch(
        /Part \d of 4 of 'orders\.csv' failed: \d+ row\(s\) of 'orders\.csv' have values the mapping cannot cast; first: row \d+ .*\(part \d: rows are numbered from the part's first row, byte \d+ of the object\)/,
      );
      expect(await fs.readdir(path.join(root, 'dst')).catch(() => [])).toEqual(
        [],
      );
    });

    it('stops with a drift error when a Parquet source is rewritten after it was cut', async () => {
      const { root } = engines;
      const file = path.join(root, 'src', 'orders.parquet');
      await fs.mkdir(path.dirname(file), { recursive: true });
      await writeOrdersParquet(file, 6000);
      let rewritten: Promise<void> | undefined;
      const engine = await setup(databaseId, {
        wrap: (local: any) =>
          new WrappingBackend(local, {
            async onRead(key, range) {
              // As the first part reads its row groups: the file is
              // replaced by another with one row more.
              if (key !== 'orders.parquet' || range?.start !== 4) return;
              rewritten ??= writeOrdersParquet(file, 6001);
              await rewritten;
            },
          }),
      });
      const end = await run(engine, 'csv', 'parquet');
      expect(rewritten).toBeDefined();
      expect(end.state).toBe('rolled-back');
      expect(end.reason).toMatch(
        /Source object 'orders\.parquet' changed during the migration/,
      );
      expect(await fs.readdir(path.join(root, 'dst')).catch(() => [])).toEqual(
        [],
      );
    });

    it('redoes a part whose read failed with a retryable error', async () => {
      const { root } = engines;
      await writeFile(path.join(root, 'src'), 'orders.csv', ordersCsv());
      const whole = await wholeTransform(root, 'csv');
      let failed = 0;
      const reads: Array<{ start: number; end?: number }> = [];
      const engine = await setup(
        databaseId,
        recordingReads(reads, range => {
          if (range.start > 10_000 && failed === 0) {
            failed += 1;
            throw Object.assign(new Error('socket hang up'), {
              code: 'ECONNRESET',
            });
          }
          return undefined;
        }),
      );
      const end = await run(engine, 'csv');
      expect(failed).toBe(1);
      expect(end.state).toBe('succeeded');
      expect(
        (await fs.readFile(path.join(root, 'dst', 'orders.csv'))).equals(
          whole.bytes,
        ),
      ).toBe(true);
    });

    it('stops with a drift error when the source changes after it was cut, and restores the target', async () => {
      const { root } = engines;
      const csv = ordersCsv();
      await writeFile(path.join(root, 'src'), 'orders.csv', csv);
      const original = 'id,amount,note\n1,1.00,the original\n';
      await writeFile(path.join(root, 'dst'), 'orders.csv', original);
      let mutation: Promise<void> | undefined;
      const engine = await setup(
        databaseId,
        recordingReads([], () => {
          // Same size, one byte of the last record changed, before any
          // part is read.
          mutation ??= writeFile(
            path.join(root, 'src'),
            'orders.csv',
            `${csv.slice(0, -3)}X${csv.slice(-2)}`,
          );
          return mutation;
        }),
      );
      const end = await run(engine, 'csv');
      expect(mutation).toBeDefined();
      expect(end.state).toBe('rolled-back');
      expect(end.reason).toMatch(
        /Source object 'orders\.csv' changed during the migration: bytes \d+–\d+ \(part \d+\) are not what was read when it was cut into parts/,
      );
      expect(
        await fs.readFile(path.join(root, 'dst', 'orders.csv'), 'utf8'),
      ).toBe(original);
    });

    it('rolls back a transform in parts whose assembled target fails validation', async () => {
      const { root } = engines;
      await writeFile(path.join(root, 'src'), 'orders.csv', ordersCsv());
      const original = 'id,amount,note\n1,1.00,the original\n';
      await writeFile(path.join(root, 'dst'), 'orders.csv', original);
      const engine = await setup(databaseId, {
        hooks: {
          async beforeValidate() {
            const file = path.join(root, 'dst', 'orders.csv');
            const text = await fs.readFile(file, 'utf8');
            await fs.writeFile(file, text.replace('\n3,', '\n4,'));
          },
        },
      });
      const end = await run(engine, 'csv');
      expect(end.state).toBe('rolled-back');
      expect(end.reason).toMatch(/^Validation failed: 1 object\(s\) differ/);
      expect(
        await fs.readFile(path.join(root, 'dst', 'orders.csv'), 'utf8'),
      ).toBe(original);
      const area = path.join(root, '.dataset-migration-backups', end.id);
      expect(
        (await filesUnder(area)).filter(f => f.includes('.staging')),
      ).toEqual([]);
    });

    it('a cancel gives back a part already begun instead of finishing it, and a retry finishes the object', async () => {
      const { root } = engines;
      await writeFile(path.join(root, 'src'), 'orders.csv', ordersCsv());
      const whole = await wholeTransform(root, 'csv');
      const knex = await databases.init(databaseId);
      let heldAt: number | undefined;
      let release = () => {};
      const held = new Promise<void>(resolve => {
        release = resolve;
      });
      const engine = await createTestEngine({
        knex,
        roots: [root],
        config: configFor(),
        ...recordingReads([], async range => {
          // One part's range read waits until after the cancel.
          if (range.start > 10_000 && heldAt === undefined) {
            heldAt = range.start;
            await held;
          }
        }),
      });
      try {
        const m = await create(engine, 'csv');
        await engine.start();
        for (let i = 0; i < 500 && heldAt === undefined; i++) {
          await new Promise(r => setTimeout(r, 20));
        }
        expect(heldAt).toBeDefined();
        await engine.cancel(m.id, actor);
        await waitForState(engine, m.id, ['cancelled']);
        // A heartbeat (every 2/3 s) sees the migration stopped copying.
        await new Promise(r => setTimeout(r, 1500));
        release();
        const part = () =>
          knex('dm_parts')
            .where({ migration_id: m.id, offset: heldAt })
            .first();
        for (let i = 0; i < 500 && (await part()).state === 'running'; i++) {
          await new Promise(r => setTimeout(r, 20));
        }
        expect(await part()).toMatchObject({
          state: 'pending',
          attempts: 0,
          last_error: expect.stringMatching(/stopped copying/),
        });

        await engine.retry(m.id, actor);
        await expectSucceededAsWhole(engine, m.id, whole.bytes);
      } finally {
        release();
        await engine.stop();
      }
    });

    it('resumes after a crash: another replica redoes only the parts not done and assembles the object', async () => {
      const { root } = engines;
      await writeFile(path.join(root, 'src'), 'orders.csv', ordersCsv());
      const whole = await wholeTransform(root, 'csv');
      const knex = await databases.init(databaseId);
      const partsDone = async () =>
        (await knex('dm_parts').where('state', 'done').select('offset')).map(
          (r: any) => Number(r.offset),
        );
      /** Range reads by part start, per replica. */
      const reads = new Map<string, number>();
      let crash = () => Promise.resolve();
      let crashed: Promise<void> | undefined;
      const hung: Array<() => void> = [];
      let phase = 'crashing';
      const backend = (local: any) =>
        new WrappingBackend(local, {
          async onRead(key, range) {
            if (key !== 'orders.csv' || !range || range.start === 0) return;
            const id = `${phase}|${range.start}`;
            reads.set(id, (reads.get(id) ?? 0) + 1);
            if (phase !== 'crashing') return;
            if (!crashed && new Set(reads.keys()).size === 3) {
              // The last part starts once another is done: crash then.
              while ((await partsDone()).length === 0) {
                await new Promise(r => setTimeout(r, 10));
              }
              crashed = crash();
            }
            if (crashed) {
              await new Promise((_, reject) =>
                hung.push(() => reject(new Error('crashed'))),
              );
            }
          },
        });
      const first = await createTestEngine({
        knex,
        roots: [root],
        wrap: backend,
        workerId: 'crashing',
        config: configFor(),
      });
      crash = () => first.stop({ abandon: true });
      const m = await create(first, 'csv');
      await first.start();
      for (let i = 0; i < 500 && !crashed; i++) {
        await new Promise(r => setTimeout(r, 20));
      }
      await crashed;
      const doneAtCrash = await partsDone();
      expect(doneAtCrash.length).toBeGreaterThan(0);
      expect(doneAtCrash.length).toBeLessThan(4);

      phase = 'replacement';
      const second = await createTestEngine({
        knex,
        roots: [root],
        wrap: backend,
        workerId: 'replacement',
        config: configFor(),
      });
      try {
        await second.start();
        await expectSucceededAsWhole(second, m.id, whole.bytes);
        // Parts done before the crash were not read again.
        for (const offset of doneAtCrash.filter(o => o > 0)) {
          expect(reads.get(`replacement|${offset}`)).toBeUndefined();
        }
        expect([...reads.keys()].some(k => k.startsWith('replacement|'))).toBe(
          true,
        );
        const events = await allEvents(second, m.id);
        expect(
          events.some(
            ev =>
              ev.type === 'lease-reclaimed' && ev.details?.from === 'crashing',
          ),
        ).toBe(true);
      } finally {
        hung.forEach(fail => fail());
        await second.stop();
      }
    });
  });
});

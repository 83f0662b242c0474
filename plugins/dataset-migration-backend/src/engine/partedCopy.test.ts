import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TestDatabases } from '@backstage/backend-test-utils';
import {
  crc32c,
  RetryableError,
} from '@internal/backstage-plugin-dataset-migration-node';
import {
  WrappingBackend,
  actor,
  allEvents,
  createTestEngine,
  dataset,
  hashTree,
  quietLogger,
  tempRoot,
  testConfig,
  waitForState,
  writeFile,
} from './__testUtils__/harness';
import { createLocalStorageBackend } from '../storage/local/LocalStorageBackend';
import type { MigrationEngine } from './types';

jest.setTimeout(120_000);

const KIB = 1024;
/** 64 KiB parts: a 1 MiB object is copied in 17 parts. */
const PART_MIB = 1 / 16;
const BIG = 1024 * KIB + 123;

describe('copies in parts', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });
  let root: string;
  let src: string;
  let dst: string;
  const engines: MigrationEngine[] = [];
  beforeEach(async () => {
    root = await tempRoot();
    src = path.join(root, 'src');
    dst = path.join(root, 'dst');
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map(e => e.stop()));
    await fs.rm(root, { recursive: true, force: true });
  });

  async function engine(
    knex: any,
    backend: WrappingBackend,
    workerId: string,
  ): Promise<MigrationEngine> {
    const e = await createTestEngine({
      knex,
      roots: [root],
      wrap: () => backend,
      workerId,
      logger: quietLogger,
      config: {
        workers: {
          concurrency: 4,
          leaseSeconds: 1,
          pollIntervalMs: 20,
          partMiB: PART_MIB,
        },
      },
    });
    engines.push(e);
    return e;
  }

  function wrapper(options: ConstructorParameters<typeof WrappingBackend>[1]) {
    return new WrappingBackend(createLocalStorageBackend(testConfig([root])), {
      noServerSideCopy: true,
      ...options,
    });
  }

  async function sourceTree() {
    await writeFile(src, 'big/one.bin', randomBytes(BIG));
    await writeFile(src, 'big/two.bin', randomBytes(3 * 64 * KIB + 1));
    for (let i = 0; i < 5; i++)
      await writeFile(src, `small/${i}.txt`, `small ${i}`);
  }

  /**
   * Same size, new bytes: a new version of big/one.bin, put in place at
   * once (as an object store replaces one).
   */
  async function replaceBig() {
    const file = path.join(src, 'big', 'one.bin');
    await fs.writeFile(`${file}.new`, randomBytes(BIG));
    await fs.rename(`${file}.new`, file);
  }

  const request = () => ({
    dataset: 'resource:default/plays',
    target: { location: `file://${dst}` },
    strategy: 'bulk-copy' as const,
  });

  /** Creates, approves and runs the migration to its end. */
  async function migrate(e: MigrationEngine) {
    const m = await e.create(request(), dataset(`file://${src}`), actor);
    await e.approve(m.id, actor);
    await e.start();
    return {
      m,
      done: await waitForState(e, m.id, ['succeeded', 'rolled-back']),
    };
  }

  describe.each(databases.eachSupportedId())('%p', databaseId => {
    it('copies large objects in parts that lanes write in parallel, and validates them part by part', async () => {
      const knex = await databases.init(databaseId);
      await sourceTree();
      let inFlight = 0;
      let most = 0;
      const backend = wrapper({
        onPart: async () => {
          inFlight += 1;
          most = Math.max(most, inFlight);
          await new Promise(r => setTimeout(r, 15));
          inFlight -= 1;
        },
      });
      const e = await engine(knex, backend, 'w1');
      const { m, done } = await migrate(e);
      expect(done.state).toBe('succeeded');
      expect(await hashTree(dst)).toEqual(await hashTree(src));

      const items = await knex('dm_work_items')
        .where({ migration_id: m.id })
        .orderBy('key');
      const byKey = Object.fromEntries(items.map((i: any) => [i.key, i]));
      expect(byKey['big/one.bin'].copy_method).toBe('parts');
      expect(byKey['big/two.bin'].copy_method).toBe('parts');
      // The object's CRC32C, folded from its parts', for checksum verifies.
      const one = await fs.readFile(path.join(src, 'big', 'one.bin'));
      expect(byKey['big/one.bin'].source_crc32c).toBe(
        crc32c(one).toString(16).padStart(8, '0'),
      );
      expect(byKey['small/0.txt'].copy_method).toBe('stream');
      const parts = await knex('dm_parts').where({ migration_id: m.id });
      // 17 parts of 64 KiB (the last 123 bytes) and 4 (the last 1 byte).
      expect(parts).toHaveLength(17 + 4);
      expect(parts.every((p: any) => p.state === 'done' && p.sha256)).toBe(
        true,
      );
      expect(most).toBeGreaterThan(1);

      const report = (await e.getReport(m.id))!;
      expect(report.passed).toBe(true);
      expect(report.methods['sha256-of-parts']).toBe(2);
    });

    it('hashes no sha256 of parts for a target that keeps CRC32Cs; validates by the folded CRC32C, or re-reads the source part by part', async () => {
      const knex = await databases.init(databaseId);
      await sourceTree();
      const e = await engine(knex, wrapper({ crc32c: {} }), 'w1');
      const { m, done } = await migrate(e);
      expect(done.state).toBe('succeeded');
      expect(await hashTree(dst)).toEqual(await hashTree(src));
      const parts = await knex('dm_parts').where({ migration_id: m.id });
      expect(parts).toHaveLength(17 + 4);
      expect(parts.every((p: any) => p.crc32c && p.sha256 === null)).toBe(true);
      const big = await knex('dm_work_items')
        .where({ migration_id: m.id, key: 'big/one.bin' })
        .first();
      expect(big).toMatchObject({
        copy_method: 'parts',
        source_sha256: null,
        verify_method: 'checksum',
      });

      // The target claims CRC32Cs but shows none: validation re-reads, and
      // hashes the source cut into the same parts (not whole), so it passes.
      await e.stop();
      engines.splice(engines.indexOf(e), 1);
      await fs.rm(dst, { recursive: true, force: true });
      const again = await engine(
        knex,
        wrapper({ crc32c: { hidden: true } }),
        'w2',
      );
      const second = await migrate(again);
      expect(second.done.state).toBe('succeeded');
      const reread = await knex('dm_work_items')
        .where({ migration_id: second.m.id, key: 'big/one.bin' })
        .first();
      expect(reread.verify_method).toBe('full');
      expect(reread.source_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect((await again.getReport(second.m.id))!.passed).toBe(true);
    });

    it('retries a failed part, and a part that cannot be written fails the migration, which rolls back and leaves no temp file', async () => {
      const knex = await databases.init(databaseId);
      await sourceTree();
      const backend = wrapper({
        onPart: (key, part, attempt) => {
          if (key === 'big/one.bin' && part === 3 && attempt === 1)
            throw new RetryableError('connection reset');
          if (key === 'big/two.bin' && part === 2)
            throw new Error('the disk said no');
        },
      });
      const e = await engine(knex, backend, 'w1');
      const { done } = await migrate(e);
      expect(done.state).toBe('rolled-back');
      expect(done.reason).toMatch(
        /Part 2 of 4 of 'big\/two.bin' failed: the disk said no/,
      );
      expect(backend.partWrites.get(`file://${dst}|big/one.bin|3`)).toBe(2);
      // Rolled back: nothing of the migration is left in the target, no
      // temp file of the aborted upload either.
      expect(await hashTree(dst)).toEqual({});
    });

    it('resumes after a crash and rewrites only the parts in flight', async () => {
      const knex = await databases.init(databaseId);
      await sourceTree();
      let crash = () => Promise.resolve();
      let crashed: Promise<void> | undefined;
      let started = 0;
      let hang = true;
      const hung: Array<() => void> = [];
      const backend = wrapper({
        onPart: async key => {
          if (key !== 'big/one.bin' || !hang) return undefined;
          started += 1;
          if (started === 8) crashed = crash();
          // Parts in flight at the crash never finish on the first engine
          // (they fail once the test is over, so it can be stopped).
          if (crashed)
            await new Promise((_, reject) =>
              hung.push(() => reject(new Error('crashed'))),
            );
          return undefined;
        },
      });
      const first = await engine(knex, backend, 'crashing');
      crash = () => first.stop({ abandon: true });
      const m = await first.create(request(), dataset(`file://${src}`), actor);
      await first.approve(m.id, actor);
      await first.start();
      await waitForState(first, m.id, ['running']);
      for (let i = 0; i < 500 && !crashed; i++)
        await new Promise(r => setTimeout(r, 20));
      await crashed;
      hang = false;
      const doneAtCrash: number[] = (
        await knex('dm_parts as p')
          .join('dm_work_items as wi', 'wi.id', 'p.item_id')
          .where({ 'wi.key': 'big/one.bin', 'p.state': 'done' })
          .select('p.part_number')
      ).map((r: any) => Number(r.part_number));
      expect(doneAtCrash.length).toBeGreaterThan(0);
      expect(doneAtCrash.length).toBeLessThan(17);

      const second = await engine(knex, backend, 'replacement');
      await second.start();
      const done = await waitForState(second, m.id, [
        'succeeded',
        'rolled-back',
      ]);
      expect(done.state).toBe('succeeded');
      expect(await hashTree(dst)).toEqual(await hashTree(src));
      for (const n of doneAtCrash) {
        expect(backend.partWrites.get(`file://${dst}|big/one.bin|${n}`)).toBe(
          1,
        );
      }
      hung.forEach(fail => fail());
      const events = await allEvents(second, m.id);
      expect(
        events.some(
          ev =>
            ev.type === 'lease-reclaimed' && ev.details?.from === 'crashing',
        ),
      ).toBe(true);
    });

    it('a cancel mid-copy gives the object back; a retry finishes it without rewriting the parts already written', async () => {
      const knex = await databases.init(databaseId);
      await sourceTree();
      const control: { cancel?: () => Promise<unknown> } = {};
      let cancelled: Promise<unknown> | undefined;
      let started = 0;
      const backend = wrapper({
        onPart: async key => {
          if (key === 'big/one.bin' && ++started === 6 && control.cancel)
            cancelled = control.cancel();
        },
      });
      const e = await engine(knex, backend, 'w1');
      const m = await e.create(request(), dataset(`file://${src}`), actor);
      await e.approve(m.id, actor);
      control.cancel = () => e.cancel(m.id, actor);
      await e.start();
      await waitForState(e, m.id, ['cancelled']);
      await cancelled;
      // The lane holding the object gives it back (pending) within a wait.
      const item = () =>
        knex('dm_work_items')
          .where({ migration_id: m.id, key: 'big/one.bin' })
          .first();
      for (let i = 0; i < 200 && (await item()).state === 'running'; i++)
        await new Promise(r => setTimeout(r, 20));
      expect((await item()).state).toBe('pending');
      const written: number[] = (
        await knex('dm_parts')
          .where({ item_id: (await item()).id, state: 'done' })
          .select('part_number')
      ).map((r: any) => Number(r.part_number));
      expect(written.length).toBeGreaterThan(0);
      expect(written.length).toBeLessThan(17);

      await e.retry(m.id, actor);
      const done = await waitForState(e, m.id, [
        'succeeded',
        'failed',
        'rolled-back',
      ]);
      expect(done.state).toBe('succeeded');
      expect(await hashTree(dst)).toEqual(await hashTree(src));
      for (const n of written) {
        expect(backend.partWrites.get(`file://${dst}|big/one.bin|${n}`)).toBe(
          1,
        );
      }
    });

    it('fails validation and rolls back when a part of the target differs from what was written', async () => {
      const knex = await databases.init(databaseId);
      await sourceTree();
      const backend = wrapper({});
      const e = await createTestEngine({
        knex,
        roots: [root],
        wrap: () => backend,
        workerId: 'w1',
        config: {
          workers: { concurrency: 4, pollIntervalMs: 20, partMiB: PART_MIB },
        },
        hooks: {
          beforeValidate: async () => {
            const file = path.join(dst, 'big', 'one.bin');
            const handle = await fs.open(file, 'r+');
            await handle.write(Buffer.from('XYZ'), 0, 3, 5 * 64 * KIB + 10);
            await handle.close();
          },
        },
      });
      engines.push(e);
      const { m, done } = await migrate(e);
      expect(done.state).toBe('rolled-back');
      const report = (await e.getReport(m.id))!;
      expect(report.passed).toBe(false);
      expect(JSON.stringify(report)).toMatch(
        /sha256 of its 17 parts [0-9a-f]{64} differs from source sha256 of its 17 parts/,
      );
      expect(await hashTree(dst)).toEqual({});
    });

    it('a part that fails on a source changed under it reports the change, not its own error', async () => {
      const knex = await databases.init(databaseId);
      await sourceTree();
      let changed = false;
      const backend = wrapper({
        onPart: async (key, part) => {
          if (key !== 'big/one.bin' || part !== 5) return;
          if (!changed) {
            changed = true;
            await replaceBig();
          }
          // As a reader fails on bytes of another version (DuckDB: 'Invalid data').
          throw new Error('cannot make sense of what was read');
        },
      });
      const e = await engine(knex, backend, 'w1');
      const { done } = await migrate(e);
      expect(done.state).toBe('rolled-back');
      expect(done.reason).toMatch(
        /Source object 'big\/one.bin' changed during the migration \(its version marker differs/,
      );
      expect(await hashTree(dst)).toEqual({});
    });

    it('refuses to complete an object whose source changed while its parts were copied', async () => {
      const knex = await databases.init(databaseId);
      await sourceTree();
      let changed = false;
      const backend = wrapper({
        onPart: async (key, part) => {
          if (key === 'big/one.bin' && part === 5 && !changed) {
            changed = true;
            await replaceBig();
          }
        },
      });
      const e = await engine(knex, backend, 'w1');
      const { done } = await migrate(e);
      expect(done.state).toBe('rolled-back');
      expect(done.reason).toMatch(
        /Source object 'big\/one.bin' changed during the migration/,
      );
      expect(await hashTree(dst)).toEqual({});
    });
  });
});

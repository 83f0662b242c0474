import fs from 'node:fs/promises';
import path from 'node:path';
import { Knex } from 'knex';
import { TestDatabases } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { createLocalStorageBackend } from '../storage/local/LocalStorageBackend';
import type { MigrationEngine } from './types';
import {
  WrappingBackend,
  actor,
  allEvents,
  createTestEngine,
  dataset,
  hashTree,
  stateChanges,
  tempRoot,
  waitForState,
  writeFile,
} from './__testUtils__/harness';

jest.setTimeout(120_000);

async function smallTree(root: string, count: number) {
  for (let i = 0; i < count; i++) {
    await writeFile(
      root,
      `part=${i % 4}/file ${i}.csv`,
      `id,value\n${i},${'x'.repeat(i * 13)}\n`,
    );
  }
}

const request = (dst: string) => ({
  dataset: 'resource:default/plays',
  target: { location: `file://${dst}` },
  strategy: 'bulk-copy' as const,
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('Timed out waiting');
    await new Promise(r => setTimeout(r, 10));
  }
}

describe('workers', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });
  let root: string;
  let src: string;
  let dst: string;
  let engines: MigrationEngine[] = [];

  beforeEach(async () => {
    root = await tempRoot();
    src = path.join(root, 'src');
    dst = path.join(root, 'dst');
  });

  afterEach(async () => {
    await Promise.all(engines.map(e => e.stop()));
    engines = [];
    await fs.rm(root, { recursive: true, force: true });
  });

  function wrapper(options: ConstructorParameters<typeof WrappingBackend>[1]) {
    const config = new ConfigReader({
      datasetMigration: { storage: { local: { roots: [root] } } },
    });
    return new WrappingBackend(createLocalStorageBackend(config), options);
  }

  async function engine(
    knex: Knex,
    backend?: WrappingBackend,
    workerId?: string,
    leaseSeconds = 1,
  ) {
    const e = await createTestEngine({
      knex,
      roots: [root],
      workerId,
      wrap: backend ? () => backend : undefined,
      config: {
        autoApprove: true,
        workers: { concurrency: 4, leaseSeconds, pollIntervalMs: 20 },
      },
    });
    engines.push(e);
    return e;
  }

  describe.each(databases.eachSupportedId())('%p', databaseId => {
    it('resumes after a crash and re-copies only the items in flight', async () => {
      const knex = await databases.init(databaseId);
      await smallTree(src, 80);
      let writeCount = 0;
      let crashed: Promise<void> | undefined;
      let crash = () => Promise.resolve();
      const backend = wrapper({
        writeDelayMs: 25,
        // Crash while this very write is in flight.
        onWrite: () => {
          if (++writeCount === 25) crashed = crash();
        },
      });
      const first = await engine(knex, backend, 'crashing-worker');
      crash = () => first.stop({ abandon: true });
      const m = await first.create(
        request(dst),
        dataset(`file://${src}`),
        actor,
      );
      await first.start();
      await waitFor(async () => crashed !== undefined);
      await crashed;
      await new Promise(r => setTimeout(r, 100));
      const inFlight: string[] = (
        await knex('dm_work_items').where({
          lease_owner: 'crashing-worker',
          state: 'running',
        })
      ).map(r => r.key);
      const doneAtCrash = (await first.get(m.id))!.progress.doneItems;
      expect(inFlight.length).toBeGreaterThan(0);
      expect(doneAtCrash).toBeLessThan(80);

      const second = await engine(knex, backend, 'replacement-worker');
      await second.start();
      const done = await waitForState(second, m.id, [
        'succeeded',
        'rolled-back',
      ]);
      expect(done.state).toBe('succeeded');
      expect(await hashTree(dst)).toEqual(await hashTree(src));

      const writes = backend.writesUnder(`file://${dst}`);
      expect(writes.size).toBe(80);
      const copiedTwice = [...writes].filter(([, n]) => n > 1).map(([k]) => k);
      expect(Math.max(...writes.values())).toBeLessThanOrEqual(2);
      expect(inFlight).toEqual(expect.arrayContaining(copiedTwice));

      // Each take-over is in the log with how long recovery took: the
      // crashed worker's leases (1 s) expired within a poll or so of being
      // taken over, and it was last seen (its fleet row) a little earlier.
      const reclaims = (await allEvents(second, m.id)).filter(
        e => e.type === 'lease-reclaimed',
      );
      expect(reclaims.map(e => e.details?.key).sort()).toEqual(
        [...inFlight].sort(),
      );
      for (const e of reclaims) {
        const d = e.details as {
          from: string;
          to: string;
          leaseExpiredAt: string;
          expiredForMs: number;
          fromLastSeenAt: string;
          fromSilentForMs: number;
        };
        expect([d.from, d.to]).toEqual([
          'crashing-worker',
          'replacement-worker',
        ]);
        expect(d.expiredForMs).toBeGreaterThanOrEqual(0);
        expect(d.expiredForMs).toBeLessThan(10_000);
        expect(d.fromSilentForMs).toBeGreaterThanOrEqual(d.expiredForMs);
        expect(Date.parse(d.fromLastSeenAt)).toBeLessThan(
          Date.parse(d.leaseExpiredAt),
        );
        expect(e.message).toMatch(
          /from crashing-worker, whose lease expired \d+\.\d s ago \(last seen \d+\.\d s ago\)$/,
        );
      }
    });

    it('never lets two engines process the same item at once', async () => {
      const knex = await databases.init(databaseId);
      await smallTree(src, 100);
      const a = wrapper({ writeDelayMs: 5 });
      const b = wrapper({ writeDelayMs: 5 });
      const one = await engine(knex, a, 'engine-a');
      const two = await engine(knex, b, 'engine-b');
      const m = await one.create(request(dst), dataset(`file://${src}`), actor);
      await Promise.all([one.start(), two.start()]);
      await waitForState(one, m.id, ['succeeded']);
      expect(await hashTree(dst)).toEqual(await hashTree(src));

      const intervals = [...a.intervals, ...b.intervals].sort(
        (x, y) => x.start - y.start,
      );
      const lastEnd = new Map<string, number>();
      for (const i of intervals) {
        expect(i.start).toBeGreaterThanOrEqual(lastEnd.get(i.key) ?? 0);
        lastEnd.set(i.key, i.end);
      }
      // Bounded concurrency: never more than `concurrency` items per engine.
      for (const w of [a, b]) {
        const edges = w.intervals.flatMap(i => [
          { t: i.start, d: 1 },
          { t: i.end, d: -1 },
        ]);
        edges.sort((x, y) => x.t - y.t || x.d - y.d);
        let open = 0;
        let peak = 0;
        for (const edge of edges) peak = Math.max(peak, (open += edge.d));
        expect(peak).toBeLessThanOrEqual(4);
      }
      const writesA = a.writesUnder(`file://${dst}`);
      const writesB = b.writesUnder(`file://${dst}`);
      expect(writesA.size + writesB.size).toBe(100);
      expect([...writesA.keys()].filter(k => writesB.has(k))).toEqual([]);
      expect((await one.getFleetStatus()).workers.map(w => w.id)).toEqual([
        'engine-a',
        'engine-b',
      ]);
    });

    it('honours a per-migration concurrency cap', async () => {
      const knex = await databases.init(databaseId);
      await smallTree(src, 12);
      const backend = wrapper({ writeDelayMs: 10 });
      // A lease that cannot lapse on a loaded machine: a lapsed lease is
      // re-claimable by design, which is not what this test is about.
      const e = await engine(knex, backend, undefined, 30);
      const m = await e.create(
        { ...request(dst), options: { concurrency: 1 } },
        dataset(`file://${src}`),
        actor,
      );
      await e.start();
      await waitForState(e, m.id, ['succeeded']);
      const spans = backend.intervals.sort((x, y) => x.start - y.start);
      for (let i = 1; i < spans.length; i++) {
        expect(spans[i].start).toBeGreaterThanOrEqual(spans[i - 1].end);
      }
      expect(spans).toHaveLength(12);
    });

    it('retries transient errors with backoff and logs the retries', async () => {
      const knex = await databases.init(databaseId);
      await smallTree(src, 24);
      const backend = wrapper({
        failWrite: (key, attempt) =>
          key.startsWith('part=1/') && attempt <= 2
            ? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
            : undefined,
      });
      const e = await engine(knex, backend);
      const m = await e.create(request(dst), dataset(`file://${src}`), actor);
      await e.start();
      expect(
        (await waitForState(e, m.id, ['succeeded', 'rolled-back'])).state,
      ).toBe('succeeded');
      expect(await hashTree(dst)).toEqual(await hashTree(src));
      const retries = (await allEvents(e, m.id)).filter(
        ev => ev.type === 'item-retry',
      );
      expect(retries).toHaveLength(12);
      expect(retries[0].message).toMatch(
        /^Retrying copy of 'part=1\/file \d+\.csv' in \d+ ms \(attempt 1 of 4\): ECONNRESET: socket hang up$/,
      );
    });

    it('fails on a permanent error and rolls the target back', async () => {
      const knex = await databases.init(databaseId);
      await smallTree(src, 24);
      await writeFile(dst, 'part=2/file 2.csv', 'precious original');
      await writeFile(dst, 'other.txt', 'not ours');
      const before = await hashTree(dst);
      const backend = wrapper({
        failWrite: key =>
          key === 'part=3/file 7.csv'
            ? Object.assign(new Error('permission denied'), { code: 'EACCES' })
            : undefined,
      });
      const e = await engine(knex, backend);
      const m = await e.create(request(dst), dataset(`file://${src}`), actor);
      await e.start();
      const end = await waitForState(e, m.id, ['rolled-back', 'succeeded']);
      expect(end.state).toBe('rolled-back');
      expect(end.reason).toBe(
        "1 object(s) could not be copied; first: 'part=3/file 7.csv': EACCES: permission denied",
      );
      expect(await hashTree(dst)).toEqual(before);
      const events = await allEvents(e, m.id);
      expect(events.find(ev => ev.type === 'item-failed')?.message).toBe(
        "copy of 'part=3/file 7.csv' failed (not retryable): EACCES: permission denied",
      );
      expect(stateChanges(events).slice(-3)).toEqual([
        'failed',
        'rolling-back',
        'rolled-back',
      ]);
    });

    it('cancels mid-copy; retry finishes without re-copying, rollback restores', async () => {
      const knex = await databases.init(databaseId);
      await smallTree(src, 60);
      await writeFile(dst, 'part=0/file 0.csv', 'original');
      const before = await hashTree(dst);
      let writeCount = 0;
      let cancelled: Promise<unknown> | undefined;
      let cancel = (): Promise<unknown> => Promise.resolve();
      const backend = wrapper({
        writeDelayMs: 20,
        // Writes after the 10th wait for the cancel to land, so the test
        // does not depend on how fast this machine copies.
        onWrite: () => {
          if (++writeCount === 10) cancelled = cancel();
          return writeCount > 10 ? cancelled?.catch(() => {}) : undefined;
        },
      });
      const e = await engine(knex, backend);
      const m = await e.create(request(dst), dataset(`file://${src}`), actor);
      cancel = () => e.cancel(m.id, actor, 'wrong target');
      await e.start();
      await waitFor(async () => cancelled !== undefined);
      expect(await cancelled).toMatchObject({ state: 'cancelled' });
      await expect(e.cancel(m.id, actor)).rejects.toThrow(/it is 'cancelled'/);
      await waitFor(
        async () =>
          (await knex('dm_work_items').where('state', 'running')).length === 0,
      );
      const afterCancel = (await e.get(m.id))!.progress.doneItems;
      await new Promise(r => setTimeout(r, 100));
      expect((await e.get(m.id))!.progress.doneItems).toBe(afterCancel);
      expect(afterCancel).toBeLessThan(60);

      expect((await e.retry(m.id, actor)).state).toBe('running');
      await waitForState(e, m.id, ['succeeded']);
      // The backup of the overwritten object stays until a rollback.
      expect(await hashTree(dst, { skipBackups: true })).toEqual(
        await hashTree(src),
      );
      expect(
        [...backend.writesUnder(`file://${dst}`).values()].every(n => n === 1),
      ).toBe(true);

      await e.rollback(m.id, actor);
      await waitForState(e, m.id, ['rolled-back']);
      expect(await hashTree(dst)).toEqual(before);
    });
  });
});

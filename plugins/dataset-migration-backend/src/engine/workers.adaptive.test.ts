import fs from 'node:fs/promises';
import path from 'node:path';
import { TestDatabases } from '@backstage/backend-test-utils';
import type { LoggerService } from '@backstage/backend-plugin-api';
import { ConfigReader } from '@backstage/config';
import { isThrottlingError } from '@internal/backstage-plugin-dataset-migration-node';
import { createLocalStorageBackend } from '../storage/local/LocalStorageBackend';
import type { MigrationEngine } from './types';
import {
  WrappingBackend,
  actor,
  createTestEngine,
  dataset,
  quietLogger,
  tempRoot,
  writeFile,
} from './__testUtils__/harness';
import { DEFAULT_WINDOW_MS } from './adaptiveConcurrency';

jest.setTimeout(90_000);

const OBJECTS = 800;
const WRITE_MS = 30;

/** What S3 answers a client that sends too much: retryable and throttling. */
function slowDown() {
  return Object.assign(new Error('Please reduce your request rate.'), {
    name: 'SlowDown',
    statusCode: 503,
  });
}

/** The most writes in flight at once among those that overlap [from, to). */
function peakWrites(
  intervals: WrappingBackend['intervals'],
  from: number,
  to: number,
): number {
  const points: Array<[number, number]> = [];
  for (const i of intervals) {
    if (i.end <= from || i.start >= to) continue;
    points.push([Math.max(i.start, from), 1], [Math.min(i.end, to), -1]);
  }
  // Ends before starts at the same instant: back-to-back is not overlap.
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of points) {
    now += d;
    peak = Math.max(peak, now);
  }
  return peak;
}

async function waitFor<T>(
  what: string,
  check: () => T | undefined | false,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`Timed out: ${what}`);
    await new Promise(r => setTimeout(r, 10));
  }
}

/**
 * The worker pool's lanes follow adaptive concurrency in a real engine: with
 * a deep queue it runs more lanes than it started with (and really writes
 * that many objects at once), and a throttling store halves them at once.
 */
describe('WorkerPool adaptive concurrency', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
  let root: string;
  let engine: MigrationEngine | undefined;

  beforeEach(async () => {
    root = await tempRoot();
  });

  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
    await fs.rm(root, { recursive: true, force: true });
  });

  it('grows its lanes on a backlog and halves them when throttled', async () => {
    const knex = await databases.init('SQLITE_3');
    const src = path.join(root, 'src');
    const dst = path.join(root, 'dst');
    for (let i = 0; i < OBJECTS; i++)
      await writeFile(src, `part=${i % 8}/f${i}.csv`, `id\n${i}\n`);

    // The pool logs every change of its lanes (adaptiveConcurrency.ts).
    const changes: Array<{
      from: number;
      to: number;
      reason: string;
      at: number;
    }> = [];
    const logger: LoggerService = {
      ...quietLogger,
      info(message) {
        const m = /worker lanes (\d+) → (\d+) \((\w+)\)/.exec(message);
        if (m) {
          changes.push({
            from: Number(m[1]),
            to: Number(m[2]),
            reason: m[3],
            at: performance.now(),
          });
        }
      },
      child: () => logger,
    };
    let throttling = false;
    let throttled = 0;
    const backend = new WrappingBackend(
      createLocalStorageBackend(
        new ConfigReader({
          datasetMigration: { storage: { local: { roots: [root] } } },
        }),
      ),
      {
        writeDelayMs: WRITE_MS,
        failWrite: () => {
          if (!throttling) return undefined;
          throttled += 1;
          return slowDown();
        },
      },
    );
    expect(isThrottlingError(slowDown())).toBe(true);
    engine = await createTestEngine({
      knex,
      roots: [root],
      logger,
      wrap: () => backend,
      config: {
        autoApprove: true,
        workers: {
          // Starts at one lane, may grow to three.
          concurrency: 1,
          minConcurrency: 1,
          maxConcurrency: 3,
          // Far above this process: memory never holds growth back.
          memoryLimitMiB: 1_000_000,
          leaseSeconds: 30,
          pollIntervalMs: 20,
          // Small batches: a lane's batch ends soon after the limit drops.
          batch: { maxObjects: 4 },
        },
        retry: { maxAttempts: 10, baseDelayMs: 10, maxDelayMs: 40 },
      },
    });
    const t0 = performance.now();
    await engine.create(
      {
        dataset: 'resource:default/plays',
        target: { location: `file://${dst}` },
        strategy: 'bulk-copy',
      },
      dataset(`file://${src}`),
      actor,
    );
    await engine.start();

    // 1. A deep queue and every lane busy: one more lane per decision
    // window (5 s; the first window may see the queue still empty).
    const grown = await waitFor(
      'the lanes to grow',
      () => changes.find(c => c.reason === 'backlog'),
      4 * DEFAULT_WINDOW_MS,
    );
    expect(grown).toMatchObject({ from: 1, to: 2 });
    expect(grown.at - t0).toBeGreaterThanOrEqual(DEFAULT_WINDOW_MS - 100);
    // With one lane the pool never wrote two objects at once...
    const writesBefore = backend.intervals.filter(i => i.start < grown.at);
    expect(writesBefore.length).toBeGreaterThan(10);
    expect(peakWrites(backend.intervals, t0, grown.at)).toBe(1);
    // ...and with more lanes it does.
    await waitFor(
      'two writes at once',
      () => peakWrites(backend.intervals, grown.at, Infinity) >= 2,
      10_000,
    );

    // 2. The store starts throttling: the next poll halves the lanes.
    throttling = true;
    const shrunk = await waitFor(
      'the lanes to shrink',
      () => changes.find(c => c.reason === 'throttled'),
      10_000,
    );
    throttling = false;
    expect(throttled).toBeGreaterThan(0);
    expect(shrunk.to).toBe(Math.max(1, Math.floor(shrunk.from / 2)));
    expect(shrunk.to).toBeLessThan(shrunk.from);
    expect(changes.indexOf(shrunk)).toBeGreaterThan(changes.indexOf(grown));

    // Once the batches claimed under the old limit are done (a few small
    // objects each), the pool writes no more objects at once than its new
    // limit, until a later window lets it grow again.
    const settled = shrunk.at + 1_500;
    const until = shrunk.at + DEFAULT_WINDOW_MS - 500;
    await waitFor(
      'writes after the shrink',
      () => performance.now() > until,
      10_000,
    );
    expect(
      backend.intervals.filter(i => i.start >= settled && i.end <= until)
        .length,
    ).toBeGreaterThan(10);
    const regrown = changes.find(c => c.at > shrunk.at && c.to > shrunk.to);
    expect(
      peakWrites(backend.intervals, settled, regrown?.at ?? until),
    ).toBeLessThanOrEqual(shrunk.to);
  });
});

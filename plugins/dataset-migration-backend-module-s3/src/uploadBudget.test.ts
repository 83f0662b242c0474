import { Readable, Transform } from 'node:stream';
import { ConfigReader } from '@backstage/config';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import {
  generatedStream,
  hashStream,
} from '@internal/backstage-plugin-dataset-migration-node/testUtils';
import { readS3Options } from './options';
import { S3StorageBackend } from './S3StorageBackend';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { s3Config } from './__testUtils__/helpers';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;
const PART = 5 * MiB;

/**
 * Measures memory from outside the budget: bytes pulled from the bodies
 * minus bytes of part / PutObject requests that S3 has acknowledged is what
 * the writes hold (plus stream buffers), whatever the budget believes.
 */
function measure(backend: S3StorageBackend) {
  const m = { pulled: 0, acked: 0, maxHeld: 0, inFlight: 0, maxInFlight: 0 };
  const sending = async <T>(bytes: number, send: () => Promise<T>) => {
    m.inFlight += bytes;
    m.maxInFlight = Math.max(m.maxInFlight, m.inFlight);
    try {
      const result = await send();
      m.acked += bytes;
      return result;
    } finally {
      m.inFlight -= bytes;
    }
  };
  backend.client.middlewareStack.add(
    (next, context) => async args => {
      const body = (args.input as { Body?: unknown }).Body;
      const bytes =
        ['UploadPartCommand', 'PutObjectCommand'].includes(
          context.commandName ?? '',
        ) && Buffer.isBuffer(body)
          ? body.length
          : 0;
      return sending(bytes, () => next(args));
    },
    { step: 'initialize', name: 'measureParts' },
  );
  // Single PutObjects go out as fast requests (fastRequests.ts).
  const fast = backend.fast!;
  const put = fast.put.bind(fast);
  fast.put = (bucket, key, body, options) =>
    sending(body.length, () => put(bucket, key, body, options));
  const counted = (body: Readable) =>
    body.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          m.pulled += chunk.length;
          m.maxHeld = Math.max(m.maxHeld, m.pulled - m.acked);
          done(null, chunk);
        },
      }),
    );
  return { m, counted };
}

/** A body of `bytes` bytes that then neither ends nor fails (until told). */
function stallingBody(bytes: number) {
  let sent = 0;
  return new Readable({
    read() {
      if (sent < bytes) {
        const n = Math.min(MiB, bytes - sent);
        sent += n;
        this.push(Buffer.alloc(n, 7));
      }
    },
  });
}

async function within<T>(promise: Promise<T>, ms: number, what: string) {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what}: not done in ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('the S3 upload buffer budget', () => {
  let s3rver: S3rverProcess;
  let backend: S3StorageBackend;
  let measured: ReturnType<typeof measure>;

  beforeAll(async () => {
    s3rver = await startS3rver({ buckets: ['budget'] });
  });
  beforeEach(() => {
    // Two parts for everyone, although one object alone would send four.
    backend = S3StorageBackend.fromConfig(
      s3Config(s3rver.endpoint, {
        partSizeMiB: 5,
        uploadConcurrency: 4,
        uploadBufferMiB: 10,
      }),
    );
    measured = measure(backend);
  });
  afterEach(() => backend?.destroy());
  afterAll(async () => {
    await s3rver?.stop();
  });

  it('keeps the part buffers of concurrent multipart writes within the budget, every object byte-exact', async () => {
    const budget = backend.uploadBudget;
    expect(budget.capacity).toBe(2 * PART);
    // Two stores of the same backend share its budget.
    const stores = [
      await backend.open(parseLocation('s3://budget/a')),
      await backend.open(parseLocation('s3://budget/b')),
    ];
    const objects = [
      { size: 3 * PART + 1, sized: true },
      { size: 4 * PART, sized: false },
      { size: 3 * PART + 333_333, sized: false },
      { size: 4 * PART - 17, sized: true },
    ];
    const expected = await Promise.all(
      objects.map((o, i) => hashStream(generatedStream(o.size, i + 1))),
    );
    const results = await Promise.all(
      objects.map((o, i) =>
        stores[i % 2].write(
          `obj-${i}`,
          measured.counted(generatedStream(o.size, i + 1, 64 * 1024)),
          o.sized ? { size: o.size } : undefined,
        ),
      ),
    );
    expect(results.map(r => r.size)).toEqual(objects.map(o => o.size));
    for (const [i, store] of objects.map((_, j) => stores[j % 2]).entries()) {
      expect(await hashStream(await store.read(`obj-${i}`))).toEqual(
        expected[i],
      );
    }

    // The budget's own gauge: within it, and actually used to the full.
    expect(budget.peak).toBeLessThanOrEqual(budget.capacity);
    expect(budget.peak).toBe(budget.capacity);
    expect([budget.inUse, budget.waiting, budget.pooled]).toEqual([0, 0, 0]);
    // Measured independently: never more than two parts on the wire, nor
    // more than two parts (plus a few stream chunks per write) held.
    // Without the budget, 4 writes × 4 parts would hold up to 80 MiB.
    expect(measured.m.maxInFlight).toBeGreaterThan(PART);
    expect(measured.m.maxInFlight).toBeLessThanOrEqual(budget.capacity);
    expect(measured.m.maxHeld).toBeLessThanOrEqual(
      budget.capacity + objects.length * MiB,
    );
    expect(measured.m.pulled).toBe(objects.reduce((n, o) => n + o.size, 0));
  });

  it('gets back what aborted and failed writes held: a following write completes', async () => {
    const budget = backend.uploadBudget;
    const store = await backend.open(parseLocation('s3://budget/abort'));
    // Each sends its first part, then holds a grant for a second one that
    // never fills: together they hold the whole budget.
    const controller = new AbortController();
    const aborted = store.write('aborted', stallingBody(PART + MiB), {
      size: 3 * PART,
      signal: controller.signal,
    });
    const failing = stallingBody(PART + MiB);
    const failed = store.write('failed', failing);
    aborted.catch(() => undefined);
    failed.catch(() => undefined);
    const started = Date.now();
    while (
      !(budget.inUse === budget.capacity && measured.m.acked >= 2 * PART)
    ) {
      expect(Date.now() - started).toBeLessThan(20_000);
      await new Promise(r => setTimeout(r, 20));
    }

    // A third write waits for room…
    const size = 3 * PART + 5;
    const next = store.write('next', generatedStream(size, 9), { size });
    next.catch(() => undefined);
    await new Promise(r => setTimeout(r, 300));
    expect(budget.waiting).toBe(1);
    expect(measured.m.acked).toBe(2 * PART);

    // …and gets it once the others give up.
    controller.abort();
    failing.destroy(new Error('source disk went away'));
    await expect(aborted).rejects.toThrow();
    await expect(failed).rejects.toThrow(/source disk went away/);
    expect(
      await within(next, 20_000, 'the write after the aborted ones'),
    ).toMatchObject({ size });
    expect(await hashStream(await store.read('next'))).toEqual(
      await hashStream(generatedStream(size, 9)),
    );
    expect(await store.stat('aborted')).toBeUndefined();
    expect(await store.stat('failed')).toBeUndefined();
    expect([budget.inUse, budget.waiting]).toEqual([0, 0]);
    expect(budget.peak).toBeLessThanOrEqual(budget.capacity);
  });

  it('writes a small object with one PutObject, holding only its size', async () => {
    const store = await backend.open(parseLocation('s3://budget/small'));
    const body = Buffer.from('a,b\n1,2\n');
    const result = await store.write('small.csv', Readable.from([body]), {
      size: body.length,
    });
    expect(result).toMatchObject({ size: body.length });
    expect(backend.uploadBudget.peak).toBe(body.length);
    expect(measured.m.maxInFlight).toBe(body.length);
  });

  it('refuses a budget smaller than a part, saying which keys', () => {
    const config = (s3: object) =>
      new ConfigReader({ datasetMigration: { storage: { s3 } } });
    expect(() =>
      readS3Options(config({ partSizeMiB: 16, uploadBufferMiB: 8 })),
    ).toThrow(
      'datasetMigration.storage.s3.uploadBufferMiB must be at least partSizeMiB (16), so that an upload can buffer one part; got 8',
    );
    expect(() => readS3Options(config({ uploadBufferMiB: 0 }))).toThrow(
      'datasetMigration.storage.s3.uploadBufferMiB must be a positive number, got 0',
    );
    expect(readS3Options(config({})).uploadBufferBytes).toBe(256 * MiB);
    expect(readS3Options(config({ partSizeMiB: 512 })).uploadBufferBytes).toBe(
      512 * MiB,
    );
    expect(
      readS3Options(config({ partSizeMiB: 5, uploadBufferMiB: 5 }))
        .uploadBufferBytes,
    ).toBe(5 * MiB);
  });
});

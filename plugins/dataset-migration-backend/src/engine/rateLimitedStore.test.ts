import { Readable } from 'node:stream';
import { ConfigReader } from '@backstage/config';
import { NotFoundError } from '@backstage/errors';
import type { JsonValue } from '@backstage/types';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import {
  guardObjectStore,
  isRetryableError,
  type ObjectInfo,
  type ObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';
import type { RateLimitStore } from '../database/RateLimitStore';
import {
  LIST_OBJECTS_PER_TOKEN,
  rateLimitObjectStore,
  readRateLimits,
  SharedRateLimiter,
  StoreRateLimits,
} from './rateLimitedStore';

function fakeStore(uri: string, objects = 0) {
  const calls: string[] = [];
  const stream = Readable.from(['bytes']);
  const store: ObjectStore & { calls: string[]; stream: Readable } = {
    calls,
    stream,
    location: parseLocation(uri),
    backendId: 'fake',
    capabilities: { checksums: [], serverSideCopy: true, multipart: false },
    async *list() {
      for (let i = 0; i < objects; i++) {
        calls.push('list-object');
        yield { key: `k${i}`, size: 1 } as ObjectInfo;
      }
    },
    async stat(key) {
      calls.push(`stat ${key}`);
      return key === 'missing' ? undefined : { key, size: 1 };
    },
    async read(key) {
      calls.push(`read ${key}`);
      if (key === 'missing') throw new NotFoundError(`${key}: not found`);
      return stream;
    },
    async write(key, body) {
      calls.push(`write ${key}`);
      for await (const _ of body);
      return { size: 1, checksums: {} };
    },
    async delete(key) {
      calls.push(`delete ${key}`);
    },
    async copyWithin(source, sourceKey, targetKey) {
      calls.push(`copy ${sourceKey} ${targetKey}`);
      // A backend copies server-side only from its own stores (S3:
      // `instanceof S3ObjectStore`), not from a wrapper.
      return 'calls' in source ? { size: 1, checksums: {} } : undefined;
    },
    async probe() {
      calls.push('probe');
    },
  };
  return store;
}

/** An acquire that logs each token, in order with the store's calls. */
function countingAcquire(calls: string[]) {
  return jest.fn(async () => {
    calls.push('token');
  });
}

describe('rateLimitObjectStore', () => {
  it('takes a token before each request', async () => {
    const inner = fakeStore('s3://bkt/data');
    const acquire = countingAcquire(inner.calls);
    const store = rateLimitObjectStore(inner, acquire);

    await store.stat('a');
    await store.read('a');
    await store.write('a', Readable.from(['x']));
    await store.delete('a');
    await store.copyWithin!(store, 'a', 'b');
    await store.probe!();

    expect(inner.calls).toEqual([
      'token',
      'stat a',
      'token',
      'read a',
      'token',
      'write a',
      'token',
      'delete a',
      'token',
      'copy a b',
      // Probes have deadlines of their own and are not limited.
      'probe',
    ]);
    expect(store.location).toBe(inner.location);
    expect(store.capabilities).toBe(inner.capabilities);
  });

  it('takes one token per page of a listing', async () => {
    const inner = fakeStore('s3://bkt', LIST_OBJECTS_PER_TOKEN * 2 + 1);
    const acquire = jest.fn(async () => {});
    const store = rateLimitObjectStore(inner, acquire);
    let n = 0;
    for await (const _ of store.list()) n++;
    expect(n).toBe(LIST_OBJECTS_PER_TOKEN * 2 + 1);
    expect(acquire).toHaveBeenCalledTimes(3);
  });

  it('passes streams, results and errors through untouched', async () => {
    const inner = fakeStore('s3://bkt');
    const store = rateLimitObjectStore(inner, async () => {});
    expect(await store.read('a')).toBe(inner.stream);
    expect(await store.stat('missing')).toBeUndefined();
    await expect(store.read('missing')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.read('missing')).rejects.toThrow('missing: not found');
  });

  it('does not call the store when no token comes', async () => {
    const inner = fakeStore('s3://bkt');
    const refused = new Error('aborted');
    const store = rateLimitObjectStore(inner, async () => {
      throw refused;
    });
    await expect(store.write('a', Readable.from(['x']))).rejects.toBe(refused);
    expect(inner.calls).toEqual([]);
  });

  it('keeps absent optional methods absent', () => {
    const { copyWithin: _c, probe: _p, ...bare } = fakeStore('s3://bkt');
    const store = rateLimitObjectStore(bare as ObjectStore, async () => {});
    expect(store.copyWithin).toBeUndefined();
    expect(store.probe).toBeUndefined();
  });

  it('hands a server-side copy the unwrapped source, also under the stall guard', async () => {
    const source = fakeStore('s3://src');
    const target = fakeStore('s3://dst');
    const wrap = (s: ObjectStore) =>
      rateLimitObjectStore(guardObjectStore(s, {}), async () => {});
    expect(await wrap(target).copyWithin!(wrap(source), 'a', 'b')).toEqual({
      size: 1,
      checksums: {},
    });
    // A limited source, a target that is not: the guard sees through.
    expect(
      await guardObjectStore(target, {}).copyWithin!(wrap(source), 'a', 'b'),
    ).toEqual({ size: 1, checksums: {} });
  });
});

describe('StoreRateLimits', () => {
  const limitsOf = (rateLimits: JsonValue | undefined) =>
    readRateLimits(
      new ConfigReader({ datasetMigration: { rateLimits } }).getOptionalConfig(
        'datasetMigration',
      ),
    );
  const takes: string[] = [];
  const db = {
    take: jest.fn(async (key: string, want: number) => {
      takes.push(key);
      return { granted: want, waitMs: 0 };
    }),
  } as unknown as RateLimitStore;

  beforeEach(() => {
    takes.length = 0;
  });

  it('limits stores at or inside a limited location, and no others', async () => {
    const limits = new StoreRateLimits(
      db,
      limitsOf([
        // Below 20 per second, every token is one take.
        { location: 's3://hot', requestsPerSecond: 5 },
        { location: 's3://hot/logs/', requestsPerSecond: 5 },
      ]),
    );
    for (const uri of ['s3://cold', 's3://hotter', 'gs://hot', 'file:///hot']) {
      const store = fakeStore(uri);
      expect(limits.wrap(store)).toBe(store);
    }
    await limits.wrap(fakeStore('s3://hot')).stat('a');
    await limits.wrap(fakeStore('s3://hot/data')).stat('a');
    expect(takes).toEqual(['s3://hot', 's3://hot']);
    // Inside both: each limit holds.
    takes.length = 0;
    await limits.wrap(fakeStore('s3://hot/logs/2026')).stat('a');
    expect(takes).toEqual(['s3://hot', 's3://hot/logs']);
  });

  it('shares one bucket between the stores of one location', async () => {
    const limits = new StoreRateLimits(
      db,
      limitsOf([{ location: 's3://hot', requestsPerSecond: 100 }]),
    );
    const a = limits.wrap(fakeStore('s3://hot/a'));
    const b = limits.wrap(fakeStore('s3://hot/b'));
    for (let i = 0; i < 10; i++) await (i % 2 ? a : b).stat('k');
    // Ten tokens per round trip at 100 per second.
    expect(takes).toEqual(['s3://hot']);
  });

  it('reads the configuration, refusing what cannot work', () => {
    expect(limitsOf(undefined)).toEqual([]);
    expect(
      limitsOf([
        { location: 's3://bkt/p/', requestsPerSecond: 50 },
        { location: 'gs://ggg', requestsPerSecond: 0.5, burst: 3 },
      ]),
    ).toEqual([
      {
        location: parseLocation('s3://bkt/p'),
        requestsPerSecond: 50,
        burst: 50,
      },
      { location: parseLocation('gs://ggg'), requestsPerSecond: 0.5, burst: 3 },
    ]);
    expect(() =>
      limitsOf([{ location: 'nope', requestsPerSecond: 1 }]),
    ).toThrow(/rateLimits\[0\]\.location/);
    expect(() =>
      limitsOf([{ location: 's3://bkt', requestsPerSecond: 0 }]),
    ).toThrow(/requestsPerSecond must be a positive number/);
    expect(() =>
      limitsOf([{ location: 's3://bkt', requestsPerSecond: 1, burst: 0.5 }]),
    ).toThrow(/burst must be at least 1/);
    expect(() =>
      limitsOf([
        { location: 's3://bkt', requestsPerSecond: 1 },
        { location: 's3://bkt/', requestsPerSecond: 2 },
      ]),
    ).toThrow(/rateLimits\[1\]: s3:\/\/bkt has a rate limit already/);
  });
});

describe('SharedRateLimiter', () => {
  const bucket = { ratePerSecond: 100, burst: 100 };

  it('turns a database failure into a retryable error, then tries again', async () => {
    const take = jest
      .fn()
      .mockRejectedValueOnce(new Error('connection terminated'))
      .mockResolvedValue({ granted: 1, waitMs: 0 });
    const limiter = new SharedRateLimiter(
      { take } as unknown as RateLimitStore,
      's3://bkt',
      bucket,
    );
    const failed = await limiter.acquire().catch(e => e);
    expect(isRetryableError(failed)).toBe(true);
    expect(failed.message).toBe(
      'Could not take a request token for s3://bkt: connection terminated',
    );
    await expect(limiter.acquire()).resolves.toBeUndefined();
  });

  it('waits while the bucket is empty, and gives up when aborted', async () => {
    const take = jest.fn(async () => ({ granted: 0, waitMs: 20 }));
    const stopped = new AbortController();
    const limiter = new SharedRateLimiter(
      { take } as unknown as RateLimitStore,
      's3://bkt',
      bucket,
      stopped.signal,
    );
    const caller = new AbortController();
    const mine = limiter.acquire(caller.signal);
    const other = limiter.acquire();
    await new Promise(r => setTimeout(r, 70));
    expect(take.mock.calls.length).toBeGreaterThanOrEqual(2);
    caller.abort(new Error('item cancelled'));
    await expect(mine).rejects.toThrow('item cancelled');
    stopped.abort(new Error('engine stopped'));
    await expect(other).rejects.toThrow('engine stopped');
    await expect(limiter.acquire()).rejects.toThrow('engine stopped');
  });
});

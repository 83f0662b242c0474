import { Readable } from 'node:stream';
import type { ObjectStore } from './storage';
import { isRetryableError } from './storage';
import {
  DEFAULT_STALL_GUARD_OPTIONS,
  guardObjectStore,
  StoreSizeMismatchError,
  StoreStallError,
  unwrapGuardedStore,
} from './stallGuard';

const location = {
  uri: 'gs://bucket/prefix',
  scheme: 'gs' as const,
  bucket: 'bucket',
  path: 'prefix',
};
const IDLE = 200;
const options = {
  idleTimeoutMs: IDLE,
  operationTimeoutMs: 150,
  copyTimeoutMs: 300,
};
const never = () => new Promise<never>(() => {});
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

async function drain(body: Readable) {
  let size = 0;
  for await (const chunk of body) size += (chunk as Buffer).length;
  return size;
}

function fakeStore(overrides: Partial<ObjectStore> = {}): ObjectStore {
  return {
    location,
    backendId: 'fake',
    capabilities: { checksums: [], serverSideCopy: false, multipart: false },
    async *list() {},
    stat: async () => undefined,
    read: async () => Readable.from([]),
    write: async (_k, body) => ({ size: await drain(body), checksums: {} }),
    delete: async () => {},
    ...overrides,
  };
}

/** A body of `n` chunks of 1 KiB, one every `gapMs`. */
function slowBody(n: number, gapMs: number) {
  return Readable.from(
    (async function* gen() {
      for (let i = 0; i < n; i++) {
        await sleep(gapMs);
        yield Buffer.alloc(1024, i);
      }
    })(),
  );
}

/** A body of `size` bytes that produces on demand (honours back-pressure). */
function lazyBody(size: number, chunk = 16 * 1024) {
  let left = size;
  return new Readable({
    read() {
      const n = Math.min(chunk, left);
      left -= n;
      this.push(n > 0 ? Buffer.alloc(n, 7) : null);
    },
  });
}

async function expectStall(
  work: Promise<unknown>,
  pattern: RegExp,
  maxMs: number,
) {
  const started = Date.now();
  const error = await work.then(
    () => new Error('expected a stall, got success'),
    e => e,
  );
  expect(error).toBeInstanceOf(StoreStallError);
  expect(error.name).toBe('StoreStallError');
  expect(isRetryableError(error)).toBe(true);
  expect(error.message).toMatch(pattern);
  expect(Date.now() - started).toBeLessThan(maxMs);
  return error as StoreStallError;
}

describe('guardObjectStore', () => {
  it('bounds calls without a byte stream by operationTimeoutMs', async () => {
    let probeSignal: AbortSignal | undefined;
    const store = guardObjectStore(
      fakeStore({
        stat: never,
        delete: never,
        read: never,
        probe: async o => {
          probeSignal = o?.signal;
          return never();
        },
        captureRootState: never,
        removeEmptyRoot: never,
      }),
      options,
    );
    const stat = await expectStall(
      store.stat('a/b.csv'),
      /^stat 'a\/b\.csv' in gs:\/\/bucket\/prefix did not answer within 150 ms$/,
      1000,
    );
    expect(stat.message).not.toMatch(/http|127\.0\.0\.1/);
    await expectStall(
      store.delete('x'),
      /delete 'x' in gs:\/\/bucket\/prefix/,
      1000,
    );
    await expectStall(
      store.read('r.bin'),
      /read 'r\.bin' from gs:\/\/bucket\/prefix/,
      1000,
    );
    await expectStall(store.probe!(), /probe of gs:\/\/bucket\/prefix/, 1000);
    expect(probeSignal?.aborted).toBe(true);
    await expectStall(store.captureRootState!(), /folder state/, 1000);
    await expectStall(store.removeEmptyRoot!('s'), /empty folders/, 1000);
  });

  it('gives copyWithin and removeTemporaryFiles the long bound', async () => {
    const store = guardObjectStore(
      fakeStore({ copyWithin: never, removeTemporaryFiles: never }),
      options,
    );
    const started = Date.now();
    await expectStall(
      store.copyWithin!(fakeStore(), 'a', 'b'),
      /server-side copy of 'a' .* to 'b' in gs:\/\/bucket\/prefix did not complete within 300 ms/,
      1000,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await expectStall(
      store.removeTemporaryFiles!(),
      /temporary file sweep/,
      1000,
    );
  });

  it('bounds each page of a listing, and lets a slow but moving listing finish', async () => {
    let listSignal: AbortSignal | undefined;
    const stuck = guardObjectStore(
      fakeStore({
        list: o => {
          listSignal = o?.signal;
          return (async function* gen() {
            yield { key: 'one', size: 1 };
            await never();
          })();
        },
      }),
      options,
    );
    const keys: string[] = [];
    const listing = (async () => {
      for await (const info of stuck.list()) keys.push(info.key);
    })();
    await expectStall(
      listing,
      /^list of gs:\/\/bucket\/prefix made no progress .*\(1 objects listed\)/,
      1000,
    );
    expect(keys).toEqual(['one']);
    expect(listSignal?.aborted).toBe(true);

    const slow = guardObjectStore(
      fakeStore({
        async *list() {
          for (let i = 0; i < 5; i++) {
            await sleep(IDLE / 2);
            yield { key: `k${i}`, size: i };
          }
        },
      }),
      options,
    );
    const all: string[] = [];
    for await (const info of slow.list()) all.push(info.key);
    expect(all).toHaveLength(5);
  });

  describe('read', () => {
    it('fails a stream that stops delivering while the consumer waits', async () => {
      const source = new Readable({ read() {} });
      source.push(Buffer.alloc(100));
      const store = guardObjectStore(
        fakeStore({ read: async () => source }),
        options,
      );
      const stream = await store.read('data/part 1.csv');
      const error = await expectStall(
        drain(stream),
        /^read 'data\/part 1\.csv' from gs:\/\/bucket\/prefix made no progress for 200 ms \(100 bytes received\)$/,
        1500,
      );
      expect(error).toBeDefined();
      expect(source.destroyed).toBe(true);
    });

    it('lets a slow but moving stream finish', async () => {
      const store = guardObjectStore(
        fakeStore({ read: async () => slowBody(8, IDLE / 3) }),
        options,
      );
      expect(await drain(await store.read('k'))).toBe(8 * 1024);
    });

    it('does not count time the consumer is back-pressured', async () => {
      const size = 1024 * 1024;
      const store = guardObjectStore(
        fakeStore({ read: async () => lazyBody(size) }),
        options,
      );
      const stream = await store.read('k');
      let total = 0;
      for await (const chunk of stream) {
        total += (chunk as Buffer).length;
        // The consumer stalls, not the store: several idle periods, twice.
        if (total === 16 * 1024 || total === 512 * 1024) await sleep(IDLE * 3);
      }
      expect(total).toBe(size);

      // A consumer that does not read at all for a while, then does.
      const idle = await store.read('k');
      await sleep(IDLE * 3);
      expect(await drain(idle)).toBe(size);
    });

    it('destroys the store stream when the consumer gives up', async () => {
      const source = lazyBody(10 * 1024 * 1024);
      const store = guardObjectStore(
        fakeStore({ read: async () => source }),
        options,
      );
      const stream = await store.read('k');
      stream.destroy();
      await sleep(10);
      expect(source.destroyed).toBe(true);
    });
  });

  describe('write', () => {
    it('fails a write that never consumes its body, aborting it and destroying the body', async () => {
      let innerSignal: AbortSignal | undefined;
      const store = guardObjectStore(
        fakeStore({
          write: async (_k, _body, hints) => {
            innerSignal = hints?.signal;
            return never();
          },
        }),
        options,
      );
      const body = lazyBody(1024 * 1024);
      await expectStall(
        store.write('a/b.csv', body),
        /^write 'a\/b\.csv' to gs:\/\/bucket\/prefix made no progress for 200 ms \(\d+ bytes sent\)$/,
        1500,
      );
      expect(innerSignal?.aborted).toBe(true);
      expect(body.destroyed).toBe(true);
    });

    it('fails a write that does not settle after its last byte (the early-finalised GCS upload)', async () => {
      const store = guardObjectStore(
        fakeStore({
          write: async (_k, body) => {
            await drain(body);
            return never();
          },
        }),
        options,
      );
      const error = await expectStall(
        store.write('big.bin', lazyBody(300 * 1024)),
        /made no progress .*\(307200 bytes sent\)/,
        1500,
      );
      expect(error).toBeDefined();
    });

    it('says so when the body, not the store, delivers nothing', async () => {
      const store = guardObjectStore(fakeStore(), options);
      const body = new Readable({ read() {} });
      const error = await expectStall(
        store.write('k', body),
        /received no data from its source/,
        1500,
      );
      expect(error.message).toMatch(/\(0 bytes sent\)$/);
    });

    it('lets a slow but moving write finish, and one that awaits before reading lose nothing', async () => {
      const store = guardObjectStore(fakeStore(), options);
      expect(await store.write('k', slowBody(8, IDLE / 3))).toEqual({
        size: 8192,
        checksums: {},
      });

      const late = guardObjectStore(
        fakeStore({
          write: async (_k, body) => {
            await sleep(IDLE / 2); // mkdir, a rate limiter, auth…
            return { size: await drain(body), checksums: {} };
          },
        }),
        options,
      );
      const result = await late.write(
        'k',
        Readable.from([Buffer.alloc(10), Buffer.alloc(20)]),
      );
      expect(result.size).toBe(30);
    });

    it('rejects a write whose stored size differs from the bytes sent', async () => {
      const short = guardObjectStore(
        fakeStore({
          write: async (_k, body) => ({
            size: (await drain(body)) - 1,
            checksums: {},
          }),
        }),
        options,
      );
      const error = await short.write('k', lazyBody(5000)).catch(e => e);
      expect(error).toBeInstanceOf(StoreSizeMismatchError);
      expect(isRetryableError(error)).toBe(true);
      expect(error.message).toBe(
        "write 'k' to gs://bucket/prefix stored 4999 bytes, but 5000 were sent",
      );

      // Settles after part of the body, leaving the rest unread.
      const early = guardObjectStore(
        fakeStore({
          write: async (_k, body) => {
            let size = 0;
            for await (const chunk of body) {
              size += (chunk as Buffer).length;
              if (size >= 64 * 1024) break;
            }
            return { size, checksums: {} };
          },
        }),
        options,
      );
      const started = Date.now();
      const body = lazyBody(64 * 1024 * 1024);
      const truncated = await early.write('k', body).catch(e => e);
      expect(truncated).toBeInstanceOf(StoreSizeMismatchError);
      expect(truncated.message).toMatch(
        /stored \d+ bytes and stopped reading before the end of its body \(\d+ bytes sent\)/,
      );
      expect(Date.now() - started).toBeLessThan(1000);
      expect(body.destroyed).toBe(true);
    });

    it('counts a store that re-reads its source from an offset (WriteHints.reread) from there', async () => {
      /** Reads `first` bytes of the body, then the rest again from `from`. */
      const rereading = (first: number, from: number, extra = 0) =>
        guardObjectStore(
          fakeStore({
            write: async (_k, body, hints) => {
              let read = 0;
              for await (const chunk of body) {
                read += (chunk as Buffer).length;
                if (read >= first) break;
              }
              const again = await hints!.reread!(from);
              return {
                size: from + (await drain(again)) - extra,
                checksums: {},
              };
            },
          }),
          options,
        );
      const starts: number[] = [];
      const reread = async (start: number) => {
        starts.push(start);
        return lazyBody(100_000 - start);
      };
      const body = lazyBody(100_000);
      const result = await rereading(48 * 1024, 20_000).write('k', body, {
        size: 100_000,
        reread,
      });
      expect(result.size).toBe(100_000);
      expect(starts).toEqual([20_000]);
      expect(body.destroyed).toBe(true);

      // What the re-read delivers is still checked against what was stored.
      const error = await rereading(48 * 1024, 20_000, 1)
        .write('k', lazyBody(100_000), { size: 100_000, reread })
        .catch(e => e);
      expect(error).toBeInstanceOf(StoreSizeMismatchError);
      expect(error.message).toBe(
        "write 'k' to gs://bucket/prefix stored 99999 bytes, but 100000 were sent",
      );
    });

    it('accepts an empty body the store does not read, but not a non-empty one', async () => {
      const store = guardObjectStore(
        fakeStore({ write: async () => ({ size: 0, checksums: {} }) }),
        options,
      );
      expect(
        (await store.write('empty', Readable.from([]), { size: 0 })).size,
      ).toBe(0);
      const error = await store
        .write('k', Readable.from([Buffer.alloc(10)]))
        .catch(e => e);
      expect(error).toBeInstanceOf(StoreSizeMismatchError);
      expect(error.message).toMatch(/stored 0 bytes, but 10 were sent/);
    });

    it('does not leave the inner rejection unhandled, and passes the caller signal on', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        let innerSignal: AbortSignal | undefined;
        const store = guardObjectStore(
          fakeStore({
            write: (_k, _body, hints) =>
              new Promise((_, reject) => {
                innerSignal = hints?.signal;
                // Rejects only well after the guard gave up.
                setTimeout(() => reject(new Error('late')), IDLE * 2);
              }),
          }),
          options,
        );
        await expectStall(
          store.write('k', new Readable({ read() {} })),
          /k/,
          1500,
        );
        await sleep(IDLE * 2);
        expect(unhandled).toEqual([]);

        const caller = new AbortController();
        const pending = store.write('k2', new Readable({ read() {} }), {
          signal: caller.signal,
        });
        pending.catch(() => {});
        caller.abort();
        expect(innerSignal?.aborted).toBe(true);
        await pending.catch(() => {});
        await sleep(IDLE * 2);
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });
  });

  it('bounds parted writes: a stalled part body, a silent begin, a slow complete; tokens pass through', async () => {
    const parts = {
      partSizeMultiple: 1,
      maxSize: 1e9,
      begin: never,
      writePart: async (
        _k: string,
        _u: string,
        p: { size: number },
        body: Readable,
      ) => ({ token: `t${p.size}`, size: await drain(body) }),
      complete: async () => {
        await sleep(200);
        return { size: 3, checksums: {} };
      },
      abort: never,
    };
    const store = guardObjectStore(fakeStore({ parts }), options);
    await expectStall(
      store.parts!.begin('big.bin', { size: 3 }),
      /^starting the parted write of 'big\.bin' in gs:\/\/bucket\/prefix did not answer within 150 ms$/,
      1000,
    );
    await expectStall(
      store.parts!.abort('big.bin', 'u'),
      /^aborting the parted write of 'big\.bin' in .* within 150 ms$/,
      1000,
    );
    await expect(
      store.parts!.writePart(
        'big.bin',
        'u',
        { number: 1, offset: 0, size: 3 },
        Readable.from([Buffer.from('abc')]),
      ),
    ).resolves.toEqual({ token: 't3', size: 3 });
    await expectStall(
      store.parts!.writePart(
        'big.bin',
        'u',
        { number: 2, offset: 3, size: 2048 },
        slowBody(2, IDLE * 3),
      ),
      /^write part 2 of 'big\.bin' to gs:\/\/bucket\/prefix received no data from its source for 200 ms/,
      2000,
    );
    // complete has the long bound (300 ms): 200 ms is within it.
    await expect(
      store.parts!.complete('big.bin', 'u', [{ number: 1, token: 't3' }]),
    ).resolves.toEqual({ size: 3, checksums: {} });
    expect(guardObjectStore(fakeStore(), options).parts).toBeUndefined();
  });

  it('unwraps guarded sources for copyWithin', async () => {
    const inner = fakeStore();
    const seen: ObjectStore[] = [];
    const target = guardObjectStore(
      fakeStore({
        copyWithin: async source => {
          seen.push(source);
          return { size: 1, checksums: {} };
        },
      }),
      options,
    );
    const once = guardObjectStore(inner, options);
    const twice = guardObjectStore(once, options);
    await target.copyWithin!(once, 'a', 'b');
    await target.copyWithin!(twice, 'a', 'b');
    await target.copyWithin!(inner, 'a', 'b');
    expect(seen).toEqual([inner, inner, inner]);
    expect(seen.every(s => s === inner)).toBe(true);
    expect(unwrapGuardedStore(twice)).toBe(inner);
  });

  it('keeps optional methods present or absent, and passes identity through', async () => {
    const bare = guardObjectStore(fakeStore(), options);
    for (const m of [
      'copyWithin',
      'probe',
      'captureRootState',
      'removeEmptyRoot',
      'removeTemporaryFiles',
    ]) {
      expect(m in bare).toBe(false);
    }
    const full = fakeStore({
      copyWithin: async () => undefined,
      probe: async () => {},
      captureRootState: async () => 'state',
      removeEmptyRoot: async () => {},
      removeTemporaryFiles: async () => 3,
    });
    const guarded = guardObjectStore(full, {});
    expect(guarded.location).toBe(full.location);
    expect(guarded.backendId).toBe('fake');
    expect(guarded.capabilities).toBe(full.capabilities);
    expect(await guarded.copyWithin!(fakeStore(), 'a', 'b')).toBeUndefined();
    await guarded.probe!();
    expect(await guarded.captureRootState!()).toBe('state');
    await guarded.removeEmptyRoot!();
    expect(await guarded.removeTemporaryFiles!()).toBe(3);
  });

  it('has documented defaults and rejects nonsense bounds', () => {
    expect(DEFAULT_STALL_GUARD_OPTIONS).toEqual({
      idleTimeoutMs: 60_000,
      operationTimeoutMs: 60_000,
      copyTimeoutMs: 900_000,
    });
    expect(() => guardObjectStore(fakeStore(), { idleTimeoutMs: 0 })).toThrow(
      TypeError,
    );
    expect(() => guardObjectStore(fakeStore(), { copyTimeoutMs: NaN })).toThrow(
      TypeError,
    );
  });
});

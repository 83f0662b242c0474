import { PassThrough, Readable } from 'node:stream';
import type { ObjectStore, WriteHints } from './storage';
import { isRetryableError } from './storage';
import { StoreStallError, withStoreTimeouts } from './storeTimeouts';

const location = {
  uri: 's3://bucket/prefix',
  scheme: 's3' as const,
  bucket: 'bucket',
  path: 'prefix',
};
const timeouts = { idleMs: 150, operationMs: 150, copyMs: 300 };
const never = () => new Promise<never>(() => {});
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

function fakeStore(overrides: Partial<ObjectStore>): ObjectStore {
  return {
    location,
    backendId: 'fake',
    capabilities: { checksums: [], serverSideCopy: false, multipart: false },
    async *list() {},
    stat: async () => undefined,
    read: async () => Readable.from([]),
    write: async (_k, body) => {
      let size = 0;
      for await (const chunk of body) size += (chunk as Buffer).length;
      return { size, checksums: {} };
    },
    delete: async () => {},
    ...overrides,
  };
}

async function readAll(stream: Readable) {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function expectStall(work: Promise<unknown>, pattern: RegExp) {
  const started = Date.now();
  const error = await work.then(
    () => undefined,
    e => e,
  );
  expect(error).toBeInstanceOf(StoreStallError);
  expect(isRetryableError(error)).toBe(true);
  expect(error.message).toMatch(pattern);
  expect(error.message).not.toMatch(/127\.0\.0\.1|http:/);
  expect(Date.now() - started).toBeLessThan(2000);
}

describe('withStoreTimeouts', () => {
  it('turns a call that never answers into a retryable stall naming the location and key', async () => {
    const store = withStoreTimeouts(
      fakeStore({ stat: never, delete: never, read: never }),
      timeouts,
    );
    await expectStall(
      store.stat('a b.csv'),
      /stat 'a b\.csv' in s3:\/\/bucket\/prefix/,
    );
    await expectStall(store.delete('k'), /delete 'k'/);
    await expectStall(store.read('k'), /read 'k'/);
  });

  it('fails a listing whose next page never comes', async () => {
    const store = withStoreTimeouts(
      fakeStore({
        async *list() {
          yield { key: 'first', size: 1 };
          await never();
        },
      }),
      timeouts,
    );
    const seen: string[] = [];
    await expectStall(
      (async () => {
        for await (const o of store.list()) seen.push(o.key);
      })(),
      /list in s3:\/\/bucket\/prefix/,
    );
    expect(seen).toEqual(['first']);
  });

  it('fails a read stream that stops delivering, but not a slow one or a slow consumer', async () => {
    const stalled = new PassThrough();
    stalled.write('part');
    const store = withStoreTimeouts(
      fakeStore({
        read: async key =>
          key === 'stalled'
            ? stalled
            : Readable.from(
                (async function* slow() {
                  for (let i = 0; i < 5; i++) {
                    await sleep(80);
                    yield Buffer.from(`${i}`);
                  }
                })(),
              ),
      }),
      timeouts,
    );
    await expectStall(
      readAll(await store.read('stalled')),
      /read 'stalled' in s3:\/\/bucket\/prefix delivered no data for 150 ms/,
    );
    // 5 × 80 ms > the 150 ms idle timeout in total, but never idle that long.
    expect((await readAll(await store.read('slow'))).toString()).toBe('01234');

    // The consumer pausing for longer than the timeout is not the store's stall.
    const eager = withStoreTimeouts(
      fakeStore({
        read: async () => Readable.from([Buffer.from('x'), Buffer.from('y')]),
      }),
      timeouts,
    );
    const stream = await eager.read('k');
    await sleep(400);
    expect((await readAll(stream)).toString()).toBe('xy');
  });

  it('fails a write that never settles after its last byte (an upload the server finalised early)', async () => {
    let innerSignal: AbortSignal | undefined;
    const store = withStoreTimeouts(
      fakeStore({
        write: async (_k, body, hints?: WriteHints) => {
          innerSignal = hints?.signal;
          for await (const _ of body) {
            // consume everything, then hang as the GCS client did
          }
          return never();
        },
      }),
      timeouts,
    );
    await expectStall(
      store.write('big.bin', Readable.from([Buffer.alloc(1000)]), {
        size: 1000,
      }),
      /write 'big\.bin' to s3:\/\/bucket\/prefix made no progress .*1000 bytes sent/,
    );
    expect(innerSignal?.aborted).toBe(true);
  });

  it('fails a write that stops consuming its body', async () => {
    const store = withStoreTimeouts(
      fakeStore({ write: async () => never() }),
      timeouts,
    );
    const body = new PassThrough();
    body.end(Buffer.alloc(10 * 1024 * 1024));
    await expectStall(store.write('k', body), /made no progress/);
  });

  it('fails a write whose stored size differs from the bytes sent', async () => {
    const store = withStoreTimeouts(
      fakeStore({
        write: async (_k, body) => {
          for await (const _ of body) {
            // drain
          }
          return { size: 3, checksums: {} };
        },
      }),
      timeouts,
    );
    const error = await store
      .write('k', Readable.from([Buffer.from('12345')]))
      .catch(e => e);
    expect(error.message).toMatch(/stored 3 bytes, but 5 were sent/);
    expect(isRetryableError(error)).toBe(true);
  });

  it('passes results through, keeps optional methods optional, unwraps guarded sources', async () => {
    const bare = withStoreTimeouts(fakeStore({}), timeouts);
    expect(bare.copyWithin).toBeUndefined();
    expect(bare.probe).toBeUndefined();
    expect(
      await bare.write('k', Readable.from([Buffer.from('abc')]), { size: 3 }),
    ).toEqual({ size: 3, checksums: {} });

    const inner = fakeStore({});
    const source = withStoreTimeouts(inner, timeouts);
    let received: ObjectStore | undefined;
    const target = withStoreTimeouts(
      fakeStore({
        copyWithin: async s => {
          received = s;
          return { size: 1, checksums: {} };
        },
        probe: never,
      }),
      timeouts,
    );
    await target.copyWithin!(source, 'a', 'b');
    expect(received).toBe(inner);
    await expectStall(target.probe!(), /probe in s3:\/\/bucket\/prefix/);
  });
});

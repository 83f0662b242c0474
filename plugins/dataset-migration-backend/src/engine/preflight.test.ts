import { NotAllowedError } from '@backstage/errors';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import type { ObjectStore } from '@internal/backstage-plugin-dataset-migration-node';
import { probeStores } from './preflight';

function store(uri: string, probe?: ObjectStore['probe']): ObjectStore {
  return {
    location: parseLocation(uri),
    backendId: 'test',
    capabilities: { checksums: [], serverSideCopy: false, multipart: false },
    list: async function* list() {},
    stat: async () => undefined,
    read: async () => {
      throw new Error('not used');
    },
    write: async () => {
      throw new Error('not used');
    },
    delete: async () => {},
    ...(probe && { probe }),
  };
}

const never = () => new Promise<void>(() => {});

describe('probeStores', () => {
  it('passes stores without a probe and stores whose probe passes', async () => {
    const probed: string[] = [];
    await probeStores(
      [
        store('s3://aaa/x'),
        store('s3://bbb/y', async () => {
          probed.push('b');
        }),
      ],
      1000,
    );
    expect(probed).toEqual(['b']);
  });

  it('probes in parallel, handing each probe a signal', async () => {
    const started: string[] = [];
    const signals: AbortSignal[] = [];
    let release!: () => void;
    const gate = new Promise<void>(r => {
      release = r;
    });
    const probe =
      (name: string): ObjectStore['probe'] =>
      async options => {
        started.push(name);
        signals.push(options!.signal!);
        if (started.length === 2) release();
        await gate;
      };
    await probeStores(
      [store('s3://aaa/x', probe('a')), store('gs://bbb/y', probe('b'))],
      2000,
    );
    expect(started.sort()).toEqual(['a', 'b']);
    expect(signals.every(s => s instanceof AbortSignal && !s.aborted)).toBe(
      true,
    );
  });

  it('gives up after the timeout with a 503 naming the location only, even if the probe ignores its signal', async () => {
    let signal: AbortSignal | undefined;
    const started = Date.now();
    const error = await probeStores(
      [
        store('s3://fine/x', async () => {}),
        store('s3://slow-bucket/plays', options => {
          signal = options?.signal;
          return never();
        }),
      ],
      300,
    ).catch(e => e);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(error).toMatchObject({
      name: 'ServiceUnavailableError',
      message: 's3://slow-bucket/plays did not answer within 0.3 s',
    });
    expect(error.cause).toBeUndefined();
    expect(signal?.aborted).toBe(true);
  });

  it('maps an AbortError from a probe to the same clean 503', async () => {
    const error = await probeStores(
      [
        store('gs://bbb/p', async options => {
          await new Promise((_, reject) =>
            options!.signal!.addEventListener('abort', () =>
              reject(
                Object.assign(new Error('aborted at 10.0.0.7:443'), {
                  name: 'AbortError',
                }),
              ),
            ),
          );
        }),
      ],
      100,
    ).catch(e => e);
    expect(error.name).toBe('ServiceUnavailableError');
    expect(error.message).toBe('gs://bbb/p did not answer within 0.1 s');
  });

  it('rejects with the first failure as thrown and stops the other probes', async () => {
    let other: AbortSignal | undefined;
    const error = await probeStores(
      [
        store('s3://target/x', async () => {
          throw new NotAllowedError('s3://target/x: access denied');
        }),
        store('s3://source/y', options => {
          other = options?.signal;
          return never();
        }),
      ],
      5000,
    ).catch(e => e);
    expect(error).toBeInstanceOf(NotAllowedError);
    expect(error.message).toBe('s3://target/x: access denied');
    expect(other?.aborted).toBe(true);
  });

  it('ends at once when the caller aborts (e.g. the engine stops)', async () => {
    const outer = new AbortController();
    const started = Date.now();
    const running = probeStores([store('s3://aaa/x', () => never())], 5000, {
      signal: outer.signal,
    }).catch(e => e);
    setTimeout(() => outer.abort(), 50);
    expect((await running).name).toBe('ServiceUnavailableError');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

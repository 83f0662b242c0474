import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import {
  base64ToHex,
  crc32c,
  crc32cToBase64,
  isRetryableError,
} from '@internal/backstage-plugin-dataset-migration-node';
import {
  FaultProxy,
  startFaultProxy,
} from '@internal/backstage-plugin-dataset-migration-backend-module-gcs/testUtils';
import { S3StorageBackend } from './S3StorageBackend';
import { FastRequests } from './fastRequests';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { s3Config } from './__testUtils__/helpers';

jest.setTimeout(60_000);

const BUCKET = 'fast';
const slowDown = {
  status: 503,
  body: '<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>',
  headers: { 'Content-Type': 'application/xml' },
};

/** Counts the SDK commands a backend's client sends, by name. */
function countCommands(backend: S3StorageBackend) {
  const counts: Record<string, number> = {};
  backend.client.middlewareStack.add(
    (next, context) => async args => {
      const name = String(context.commandName);
      counts[name] = (counts[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return counts;
}

async function readAll(stream: Readable): Promise<Buffer> {
  return Buffer.concat(await stream.toArray());
}

describe('fast requests (signed without the SDK middleware)', () => {
  let s3rver: S3rverProcess;
  let proxy: FaultProxy;
  const backends: S3StorageBackend[] = [];
  const sent: Array<{ method: string; url: string; headers: any }> = [];

  function backend(extra: object = {}, endpoint = proxy.endpoint) {
    const b = S3StorageBackend.fromConfig(s3Config(endpoint, extra));
    backends.push(b);
    return b;
  }

  beforeAll(async () => {
    s3rver = await startS3rver({ buckets: [BUCKET] });
    proxy = await startFaultProxy(s3rver.endpoint);
  });
  beforeEach(() => {
    sent.length = 0;
    proxy.setDecider(req => {
      sent.push(req);
      return undefined;
    });
  });
  afterAll(async () => {
    backends.forEach(b => b.destroy());
    await proxy?.stop();
    await s3rver?.stop();
  });

  it('writes, copies, stats and reads awkward keys with no SDK PutObject, CopyObject, HeadObject or GetObject, byte for byte', async () => {
    const fast = backend();
    const counts = countCommands(fast);
    const store = await fast.open(parseLocation(`s3://${BUCKET}/keys`));
    const copies = await fast.open(parseLocation(`s3://${BUCKET}/copies`));
    const keys = [
      'plain.csv',
      'a b/c+d.txt',
      "x!'()*~.bin",
      'unicodé/日本語.csv',
      'per%25cent;semi=eq&amp.txt',
      'deep/er/still..dots',
    ];
    const data = randomBytes(70_000);
    const crc = crc32cToBase64(crc32c(data));
    const sha = createHash('sha256').update(data).digest('hex');
    for (const key of keys) {
      const written = await store.write(key, Readable.from([data]), {
        size: data.length,
      });
      expect(written.checksums.crc32c).toBe(base64ToHex(crc));
      const copied = await copies.copyWithin!(store, key, key, {
        size: data.length,
      });
      expect(copied?.checksums.md5).toBe(written.checksums.md5);
      expect(await copies.stat(key)).toMatchObject({
        size: data.length,
        checksums: { crc32c: base64ToHex(crc) },
      });
    }
    // The PUT declared the body's CRC32C and signed its SHA-256.
    const puts = sent.filter(
      r => r.method === 'PUT' && r.url.includes('/keys/'),
    );
    expect(puts).toHaveLength(keys.length);
    for (const put of puts) {
      expect(put.headers['x-amz-checksum-crc32c']).toBe(crc);
      expect(put.headers['x-amz-content-sha256']).toBe(sha);
    }
    sent.length = 0;
    for (const key of keys) {
      expect((await readAll(await copies.read(key))).equals(data)).toBe(true);
      const range = await readAll(
        await store.read(key, { start: 5, end: 65_000 }),
      );
      expect(range.equals(data.subarray(5, 65_001))).toBe(true);
      const first = await readAll(await store.read(key, { start: 0, end: 0 }));
      expect(first.equals(data.subarray(0, 1))).toBe(true);
    }
    expect(sent.filter(r => r.method === 'GET')).toHaveLength(keys.length * 3);
    expect(await copies.stat('absent')).toBeUndefined();
    expect(counts).toEqual({});

    // With fastRequests: false each is an SDK command again.
    const sdk = backend({ fastRequests: false });
    const sdkCounts = countCommands(sdk);
    const sdkStore = await sdk.open(parseLocation(`s3://${BUCKET}/keys`));
    const sdkCopies = await sdk.open(parseLocation(`s3://${BUCKET}/sdk`));
    await sdkStore.write('w', Readable.from([data]), { size: data.length });
    await sdkCopies.copyWithin!(sdkStore, keys[3], 'c', { size: data.length });
    expect((await readAll(await sdkCopies.read('c'))).equals(data)).toBe(true);
    // The same answer either way.
    expect(await sdkCopies.stat('c')).toEqual({
      ...(await copies.stat(keys[3])),
      key: 'c',
      lastModified: expect.any(Date),
    });
    expect(sdkCounts).toEqual({
      PutObjectCommand: 1,
      CopyObjectCommand: 1,
      GetObjectCommand: 1,
      HeadObjectCommand: 1,
    });
  });

  it('retries a throttled PUT with the same body, and fails a CopyObject answered 200 with an error', async () => {
    const store = await backend().open(parseLocation(`s3://${BUCKET}/put`));
    let puts = 0;
    proxy.setDecider(req => {
      if (req.method !== 'PUT') return undefined;
      puts++;
      return puts === 1 ? slowDown : undefined;
    });
    await store.write('p', Readable.from([Buffer.from('put twice')]), {
      size: 9,
    });
    expect(puts).toBe(2);
    expect((await readAll(await store.read('p'))).toString()).toBe('put twice');

    proxy.setDecider(req =>
      req.method === 'PUT'
        ? {
            status: 200,
            body: '<?xml version="1.0"?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>',
          }
        : undefined,
    );
    const error = await store.copyWithin!(store, 'p', 'q', { size: 9 }).catch(
      e => e,
    );
    expect(error.name).toBe('ServiceUnavailableError');
    expect(error.message).toContain('InternalError');
    expect(isRetryableError(error)).toBe(true);
    proxy.setDecider(() => undefined);
    expect(await store.stat('q')).toBeUndefined();
  });

  it.each([true, false])(
    'names a missing object, a missing bucket and refused credentials as the SDK path does (fastRequests: %s)',
    async fastRequests => {
      const store = await backend({ fastRequests }).open(
        parseLocation(`s3://${BUCKET}/errors`),
      );
      await expect(store.read('absent.csv')).rejects.toMatchObject({
        name: 'NotFoundError',
        message: `Reading s3://${BUCKET}/errors/absent.csv: object not found`,
      });
      const noBucket = await backend({ fastRequests }).open(
        parseLocation('s3://no-such-bucket/x'),
      );
      await expect(noBucket.read('a')).rejects.toMatchObject({
        name: 'NotFoundError',
        message: 'Reading s3://no-such-bucket/x/a: bucket does not exist',
      });
      const denied = await backend({
        fastRequests,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'wrong' },
      }).open(parseLocation(`s3://${BUCKET}/errors`));
      const error = await denied.read('absent.csv').catch(e => e);
      expect(error.name).toBe('NotAllowedError');
      expect(error.message).not.toContain('wrong');
    },
  );

  it('retries a throttled answer and a connection dropped before the answer, then reads', async () => {
    const store = await backend().open(parseLocation(`s3://${BUCKET}/retry`));
    await store.write('r.bin', Readable.from([Buffer.from('retried')]), {
      size: 7,
    });
    let gets = 0;
    proxy.setDecider(req => {
      if (req.method !== 'GET') return undefined;
      gets++;
      if (gets === 1) {
        return slowDown;
      }
      return gets === 2 ? { dropAfterBodyBytes: 0 } : undefined;
    });
    expect((await readAll(await store.read('r.bin'))).toString()).toBe(
      'retried',
    );
    expect(gets).toBe(3);
  });

  it('gives up after maxAttempts with a retryable error naming the object', async () => {
    const store = await backend({ maxAttempts: 2 }).open(
      parseLocation(`s3://${BUCKET}/down`),
    );
    let gets = 0;
    proxy.setDecider(req => {
      gets += req.method === 'GET' ? 1 : 0;
      return { status: 500 };
    });
    const error = await store.read('x').catch(e => e);
    expect(gets).toBe(2);
    expect(error.name).toBe('ServiceUnavailableError');
    expect(error.message).toContain(`s3://${BUCKET}/down/x`);
    expect(isRetryableError(error)).toBe(true);

    proxy.setDecider(() => ({ dropAfterBodyBytes: 0 }));
    const dropped = await store.read('x').catch(e => e);
    expect(dropped.message).toContain('the S3 endpoint is unreachable');
    expect(isRetryableError(dropped)).toBe(true);
  });

  it('refuses a whole-object body that does not match the checksum S3 sent with it', async () => {
    const store = await backend().open(parseLocation(`s3://${BUCKET}/sum`));
    const wrong = Buffer.from('00000000', 'hex').toString('base64');
    proxy.setDecider(() => ({
      status: 200,
      body: 'hello',
      headers: {
        'Content-Length': '5',
        'x-amz-checksum-crc32c': wrong,
        'x-amz-checksum-type': 'FULL_OBJECT',
      },
    }));
    const error = await readAll(await store.read('k')).catch(e => e);
    expect(error.message).toMatch(/checksum mismatch.*CRC32C/);
    expect(isRetryableError(error)).toBe(true);
    // A composite (per-part) checksum says nothing about the bytes.
    proxy.setDecider(() => ({
      status: 200,
      body: 'hello',
      headers: { 'x-amz-checksum-crc32c': `${wrong}-3` },
    }));
    expect((await readAll(await store.read('k'))).toString()).toBe('hello');
  });

  it('signs with the server clock after a RequestTimeTooSkewed answer', async () => {
    const fast = backend();
    const store = await fast.open(parseLocation(`s3://${BUCKET}/clock`));
    await store.write('c', Readable.from([Buffer.from('tick')]), { size: 4 });
    (fast.client.config as any).systemClockOffset = -3_600_000;
    expect((await readAll(await store.read('c'))).toString()).toBe('tick');
    expect(
      Math.abs((fast.client.config as any).systemClockOffset),
    ).toBeLessThan(60_000);
  });

  it('leaves buckets the SDK does not sign with plain SigV4 to the SDK', async () => {
    const fast = backend({}, s3rver.endpoint);
    const get = new FastRequests(fast.client);
    await expect(
      get.get('data--usw2-az1--x-s3', 'k', { describe: 'x' }),
    ).resolves.toBeUndefined();
  });
});

import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { isRetryableError } from '@internal/backstage-plugin-dataset-migration-node';
import {
  FaultProxy,
  startFaultProxy,
} from '@internal/backstage-plugin-dataset-migration-backend-module-gcs/testUtils';
import { S3StorageBackend } from './S3StorageBackend';
import { FastGet } from './fastGet';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { s3Config } from './__testUtils__/helpers';

jest.setTimeout(60_000);

const BUCKET = 'fast';

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

describe('fast GETs (signed requests without the SDK middleware)', () => {
  let s3rver: S3rverProcess;
  let proxy: FaultProxy;
  const backends: S3StorageBackend[] = [];
  const requests: string[] = [];

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
    requests.length = 0;
    proxy.setDecider(req => {
      requests.push(`${req.method} ${req.url}`);
      return undefined;
    });
  });
  afterAll(async () => {
    backends.forEach(b => b.destroy());
    await proxy?.stop();
    await s3rver?.stop();
  });

  it('reads whole objects and ranges of awkward keys with no SDK GetObject, byte for byte', async () => {
    const fast = backend();
    const counts = countCommands(fast);
    const store = await fast.open(parseLocation(`s3://${BUCKET}/keys`));
    const keys = [
      'plain.csv',
      'a b/c+d.txt',
      "x!'()*~.bin",
      'unicodé/日本語.csv',
      'per%25cent;semi=eq&amp.txt',
      'deep/er/still..dots',
    ];
    const data = randomBytes(70_000);
    for (const key of keys) {
      await store.write(key, Readable.from([data]), { size: data.length });
    }
    requests.length = 0;
    for (const key of keys) {
      expect((await readAll(await store.read(key))).equals(data)).toBe(true);
      const range = await readAll(await store.read(key, { start: 5, end: 65_000 }));
      expect(range.equals(data.subarray(5, 65_001))).toBe(true);
      const first = await readAll(await store.read(key, { start: 0, end: 0 }));
      expect(first.equals(data.subarray(0, 1))).toBe(true);
    }
    expect(counts.GetObjectCommand).toBeUndefined();
    expect(requests.filter(r => r.startsWith('GET '))).toHaveLength(
      keys.length * 3,
    );

    // With fastReads: false every read is an SDK GetObject again.
    const sdk = backend({ fastReads: false });
    const sdkCounts = countCommands(sdk);
    const sdkStore = await sdk.open(parseLocation(`s3://${BUCKET}/keys`));
    expect((await readAll(await sdkStore.read(keys[3]))).equals(data)).toBe(
      true,
    );
    expect(sdkCounts.GetObjectCommand).toBe(1);
  });

  it.each([true, false])(
    'names a missing object, a missing bucket and refused credentials as the SDK path does (fastReads: %s)',
    async fastReads => {
      const store = await backend({ fastReads }).open(
        parseLocation(`s3://${BUCKET}/errors`),
      );
      await expect(store.read('absent.csv')).rejects.toMatchObject({
        name: 'NotFoundError',
        message: `Reading s3://${BUCKET}/errors/absent.csv: object not found`,
      });
      const noBucket = await backend({ fastReads }).open(
        parseLocation('s3://no-such-bucket/x'),
      );
      await expect(noBucket.read('a')).rejects.toMatchObject({
        name: 'NotFoundError',
        message: 'Reading s3://no-such-bucket/x/a: bucket does not exist',
      });
      const denied = await backend({
        fastReads,
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
        return {
          status: 503,
          body: '<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>',
          headers: { 'Content-Type': 'application/xml' },
        };
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
    const get = new FastGet(fast.client);
    await expect(
      get.get('data--usw2-az1--x-s3', 'k', { describe: 'x' }),
    ).resolves.toBeUndefined();
  });
});

import { Readable } from 'node:stream';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { isRetryableError } from '@internal/backstage-plugin-dataset-migration-node';
import {
  generatedStream,
  hashStream,
} from '@internal/backstage-plugin-dataset-migration-node/testUtils';
import {
  FaultProxy,
  startFaultProxy,
} from '@internal/backstage-plugin-dataset-migration-backend-module-gcs/testUtils';
import { S3StorageBackend } from './S3StorageBackend';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { s3Config } from './__testUtils__/helpers';

const MiB = 1024 * 1024;
const isPart = (url: string) => /[?&]partNumber=/.test(url);

describe('S3ObjectStore under faults', () => {
  let s3rver: S3rverProcess;
  let proxy: FaultProxy;
  let backend: S3StorageBackend;

  beforeAll(async () => {
    s3rver = await startS3rver({ buckets: ['faults'] });
    proxy = await startFaultProxy(s3rver.endpoint);
    backend = S3StorageBackend.fromConfig(
      s3Config(proxy.endpoint, { partSizeMiB: 5, uploadConcurrency: 2 }),
    );
  });
  afterEach(() => proxy.setDecider(() => undefined));
  afterAll(async () => {
    backend?.destroy();
    await proxy?.stop();
    await s3rver?.stop();
  });

  it('retries a part answered 503 and a part whose connection drops, resuming the upload', async () => {
    const store = await backend.open(parseLocation('s3://faults/mp'));
    const requests: string[] = [];
    let failedParts = 0;
    proxy.setDecider(req => {
      requests.push(`${req.method} ${req.url}`);
      if (req.method === 'PUT' && isPart(req.url) && failedParts < 2) {
        failedParts++;
        return failedParts === 1
          ? { status: 503, body: '<Error><Code>SlowDown</Code></Error>' }
          : { dropAfterBodyBytes: 1 * MiB };
      }
      return undefined;
    });
    const size = 18 * MiB;
    const expected = await hashStream(generatedStream(size, 7));
    const before = proxy.injected.length;
    const result = await store.write('obj', generatedStream(size, 7), { size });
    expect(proxy.injected.length - before).toBe(2);
    expect(result.size).toBe(size);
    // one multipart upload, 4 parts + 2 retried attempts: resumed, not restarted
    expect(requests.filter(r => /[?&]uploads/.test(r))).toHaveLength(1);
    expect(requests.filter(r => r.startsWith('PUT') && isPart(r))).toHaveLength(
      6,
    );
    proxy.setDecider(() => undefined);
    expect(await hashStream(await store.read('obj'))).toEqual(expected);
  });

  it('retries throttled single-part writes, lists and reads', async () => {
    const store = await backend.open(parseLocation('s3://faults/small'));
    let n = 0;
    proxy.setDecider(() =>
      ++n % 2 === 1
        ? {
            status: 503,
            body: '<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>',
            headers: { 'Content-Type': 'application/xml' },
          }
        : undefined,
    );
    await store.write('a b', Readable.from(['hello']), { size: 5 });
    const keys: string[] = [];
    for await (const info of store.list()) {
      keys.push(info.key);
    }
    expect(keys).toEqual(['a b']);
    expect(await store.stat('a b')).toMatchObject({ size: 5 });
    expect(n).toBeGreaterThanOrEqual(6);
  });

  it('reports persistent failures as retryable errors', async () => {
    const impatient = S3StorageBackend.fromConfig(
      s3Config(proxy.endpoint, { maxAttempts: 2 }),
    );
    const store = await impatient.open(parseLocation('s3://faults/down'));
    proxy.setDecider(() => ({ status: 500 }));
    const error = await store
      .write('x', Readable.from(['data']), { size: 4 })
      .catch(e => e);
    expect(error.name).toBe('ServiceUnavailableError');
    expect(error.message).toContain('s3://faults/down/x');
    expect(isRetryableError(error)).toBe(true);

    proxy.setDecider(req =>
      req.method === 'PUT' ? { dropAfterBodyBytes: 0 } : undefined,
    );
    const dropped = await store
      .write('y', Readable.from(['data']), { size: 4 })
      .catch(e => e);
    expect(isRetryableError(dropped)).toBe(true);
    impatient.destroy();
  });
});

import { serializeError } from '@backstage/errors';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { isRetryableError } from '@internal/backstage-plugin-dataset-migration-node';
import {
  FaultProxy,
  startFaultProxy,
} from '@internal/backstage-plugin-dataset-migration-backend-module-gcs/testUtils';
import { S3StorageBackend } from './S3StorageBackend';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { s3Config } from './__testUtils__/helpers';
import {
  closedPort,
  endpointLeaks,
  silentServer,
} from './__testUtils__/deadEndpoints';

/** Everything a caller could see of an error: message, stack, serialized body. */
function visible(error: Error) {
  return JSON.stringify({
    body: serializeError(error),
    message: error.message,
    stack: error.stack,
  });
}

describe('S3ObjectStore.probe', () => {
  let s3rver: S3rverProcess;
  const backends: S3StorageBackend[] = [];
  const backend = (endpoint: string, extra: object = {}) => {
    const b = S3StorageBackend.fromConfig(s3Config(endpoint, extra));
    backends.push(b);
    return b;
  };
  const open = (b: S3StorageBackend, uri: string) => b.open(parseLocation(uri));

  beforeAll(async () => {
    s3rver = await startS3rver({ buckets: ['probed'] });
  });
  afterAll(async () => {
    backends.forEach(b => b.destroy());
    await s3rver?.stop();
  });

  it('passes for an existing bucket, with or without a prefix, empty or not', async () => {
    const b = backend(s3rver.endpoint);
    await expect((await open(b, 's3://probed')).probe!()).resolves.toBe(
      undefined,
    );
    await expect(
      (
        await open(b, 's3://probed/nothing/here/yet')
      ).probe!(),
    ).resolves.toBe(undefined);
  });

  it('says the bucket does not exist (400)', async () => {
    const store = await open(backend(s3rver.endpoint), 's3://missing/plays');
    await expect(store.probe!()).rejects.toMatchObject({
      name: 'InputError',
      message: "s3://missing/plays: bucket 'missing' does not exist",
    });
  });

  it('says access is denied (403) when the credentials do not work', async () => {
    const store = await open(
      backend(s3rver.endpoint, {
        credentials: {
          accessKeyId: 'UNKNOWN',
          secretAccessKey: 'wrong-secret',
        },
      }),
      's3://probed/plays',
    );
    const error = await store.probe!().catch(e => e);
    expect(error.name).toBe('NotAllowedError');
    expect(error.message).toMatch(
      /^s3:\/\/probed\/plays: access denied listing bucket 'probed'/,
    );
    expect(visible(error)).not.toContain('wrong-secret');
  });

  it('says access is denied when the bucket policy refuses', async () => {
    let proxy: FaultProxy | undefined;
    try {
      proxy = await startFaultProxy(s3rver.endpoint, () => ({
        status: 403,
        headers: { 'Content-Type': 'application/xml' },
        body: '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
      }));
      const store = await open(backend(proxy.endpoint), 's3://probed/plays');
      await expect(store.probe!()).rejects.toMatchObject({
        name: 'NotAllowedError',
      });
    } finally {
      await proxy?.stop();
    }
  });

  it('says a dead endpoint is unreachable, naming only the location', async () => {
    const port = await closedPort();
    const store = await open(
      backend(`http://127.0.0.1:${port}`),
      's3://probed/plays',
    );
    const started = Date.now();
    const error = await store.probe!().catch(e => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error.name).toBe('ServiceUnavailableError');
    expect(error.message).toBe(
      's3://probed/plays is unreachable (connection refused)',
    );
    expect(isRetryableError(error)).toBe(true);
    for (const leak of endpointLeaks(port)) {
      expect(visible(error)).not.toContain(leak);
    }
  });

  it('stops at the signal when the endpoint never answers, retries included', async () => {
    const silent = await silentServer();
    try {
      const store = await open(backend(silent.endpoint), 's3://probed/plays');
      const started = Date.now();
      const error = await store.probe!({
        signal: AbortSignal.timeout(500),
      }).catch(e => e);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(error.name).toBe('ServiceUnavailableError');
      expect(error.message).toMatch(/^s3:\/\/probed\/plays is unreachable/);
      for (const leak of endpointLeaks(silent.port)) {
        expect(visible(error)).not.toContain(leak);
      }
    } finally {
      await silent.stop();
    }
  });

  it('cleans connection errors of the other calls too', async () => {
    const port = await closedPort();
    const store = await open(
      backend(`http://127.0.0.1:${port}`, { maxAttempts: 1 }),
      's3://probed/plays',
    );
    const error = await store.stat('a.csv').catch(e => e);
    expect(error.name).toBe('ServiceUnavailableError');
    expect(error.message).toBe(
      'Reading metadata of s3://probed/plays/a.csv failed: the S3 endpoint is unreachable (connection refused)',
    );
    expect(isRetryableError(error)).toBe(true);
    for (const leak of endpointLeaks(port)) {
      expect(visible(error)).not.toContain(leak);
    }
  });
});

import net from 'node:net';
import { ConfigReader } from '@backstage/config';
import { serializeError } from '@backstage/errors';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { isRetryableError } from '@internal/backstage-plugin-dataset-migration-node';
import { GcsStorageBackend } from './GcsStorageBackend';
import { GcsTestServer } from './testing/GcsTestServer';
import { startFaultProxy } from './testing/faultProxy';

function backendFor(endpoint: string, extra: object = {}) {
  return GcsStorageBackend.fromConfig(
    new ConfigReader({
      datasetMigration: {
        storage: {
          gcs: { apiEndpoint: endpoint, projectId: 'test', ...extra },
        },
      },
    }),
  );
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** Everything a caller could see of an error: message, stack, serialized body. */
function visible(error: Error) {
  return JSON.stringify({
    body: serializeError(error),
    message: error.message,
    stack: error.stack,
  });
}

const leaks = (port: number) => [
  '127.0.0.1',
  String(port),
  'ECONNREFUSED',
  'http://',
  '/storage/v1',
];

describe('GcsObjectStore.probe', () => {
  let server: GcsTestServer;

  beforeAll(async () => {
    server = await GcsTestServer.start({ buckets: ['probed'] });
  });
  afterAll(() => server.stop());

  it('passes for an existing bucket, with or without a prefix, empty or not', async () => {
    const backend = backendFor(server.endpoint);
    await expect(
      (
        await backend.open(parseLocation('gs://probed'))
      ).probe!(),
    ).resolves.toBe(undefined);
    await expect(
      (
        await backend.open(parseLocation('gs://probed/not/yet'))
      ).probe!(),
    ).resolves.toBe(undefined);
  });

  it('says the bucket does not exist (400)', async () => {
    const store = await backendFor(server.endpoint).open(
      parseLocation('gs://missing-bucket/plays'),
    );
    await expect(store.probe!()).rejects.toMatchObject({
      name: 'InputError',
      message:
        "gs://missing-bucket/plays: bucket 'missing-bucket' does not exist",
    });
  });

  it('says permission is denied (403)', async () => {
    const proxy = await startFaultProxy(server.endpoint, () => ({
      status: 403,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        error: {
          code: 403,
          message: 'caller does not have storage.objects.list',
        },
      }),
    }));
    try {
      const store = await backendFor(proxy.endpoint).open(
        parseLocation('gs://probed/plays'),
      );
      const error = await store.probe!().catch(e => e);
      expect(error.name).toBe('NotAllowedError');
      expect(error.message).toMatch(
        /^gs:\/\/probed\/plays: permission denied listing bucket 'probed'/,
      );
    } finally {
      await proxy.stop();
    }
  });

  it('says a dead endpoint is unreachable, naming only the location', async () => {
    const closed = net.createServer();
    const port = await listen(closed);
    await new Promise(resolve => closed.close(resolve));
    const store = await backendFor(`http://127.0.0.1:${port}`).open(
      parseLocation('gs://probed/plays'),
    );
    const started = Date.now();
    const error = await store.probe!().catch(e => e);
    // One retry at most, whatever maxRetries says.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error.name).toBe('ServiceUnavailableError');
    expect(error.message).toBe(
      'gs://probed/plays is unreachable (connection refused)',
    );
    expect(isRetryableError(error)).toBe(true);
    for (const leak of leaks(port)) {
      expect(visible(error)).not.toContain(leak);
    }
  }, 20_000);

  it('answers when the signal fires, even though the client takes none', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer(s => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    const port = await listen(silent);
    try {
      const store = await backendFor(`http://127.0.0.1:${port}`).open(
        parseLocation('gs://probed/plays'),
      );
      const started = Date.now();
      const error = await store.probe!({
        signal: AbortSignal.timeout(300),
      }).catch(e => e);
      expect(Date.now() - started).toBeLessThan(1500);
      expect(error.name).toBe('ServiceUnavailableError');
      expect(error.message).toBe(
        'gs://probed/plays is unreachable (timed out)',
      );
    } finally {
      sockets.forEach(s => s.destroy());
      await new Promise(resolve => silent.close(resolve));
    }
  });

  it('cleans connection errors of the other calls too', async () => {
    const closed = net.createServer();
    const port = await listen(closed);
    await new Promise(resolve => closed.close(resolve));
    const store = await backendFor(`http://127.0.0.1:${port}`, {
      maxRetries: 1,
    }).open(parseLocation('gs://probed/plays'));
    const error = await store.stat('a.csv').catch(e => e);
    expect(error.name).toBe('ServiceUnavailableError');
    expect(error.message).toBe(
      'Reading metadata of gs://probed/plays/a.csv failed: the GCS endpoint is unreachable (connection refused)',
    );
    for (const leak of leaks(port)) {
      expect(visible(error)).not.toContain(leak);
    }
  }, 20_000);
});

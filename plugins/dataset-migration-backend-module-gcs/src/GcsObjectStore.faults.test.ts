import { Readable } from 'node:stream';
import { ConfigReader } from '@backstage/config';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { isRetryableError } from '@internal/backstage-plugin-dataset-migration-node';
import { GcsStorageBackend } from './GcsStorageBackend';
import { GcsTestServer } from './testing/GcsTestServer';
import { FaultProxy, startFaultProxy } from './testing/faultProxy';
import {
  generatedStream,
  hashStream,
} from '@internal/backstage-plugin-dataset-migration-node/testUtils';

const MiB = 1024 * 1024;

function backendFor(endpoint: string, extra: object = {}) {
  return GcsStorageBackend.fromConfig(
    new ConfigReader({
      datasetMigration: {
        storage: {
          gcs: {
            apiEndpoint: endpoint,
            projectId: 'test',
            resumableChunkMiB: 2,
            resumableThresholdMiB: 1,
            ...extra,
          },
        },
      },
    }),
  );
}

describe('GcsObjectStore under faults', () => {
  let server: GcsTestServer;
  let proxy: FaultProxy;

  beforeAll(async () => {
    server = await GcsTestServer.start({ buckets: ['faults'] });
    proxy = await startFaultProxy(server.endpoint);
  });
  afterEach(() => proxy.setDecider(() => undefined));
  afterAll(async () => {
    await proxy?.stop();
    await server?.stop();
  });

  it.each([
    ['chunks sent by chunkedUpload.ts', true],
    ["the client library's upload stream", false],
  ])(
    'resumes a resumable upload after a 503 and a dropped chunk: %s',
    async (_how, fastUploads) => {
      const store = await backendFor(proxy.endpoint, { fastUploads }).open(
        parseLocation('gs://faults/resumable'),
      );
      let chunkPuts = 0;
      proxy.setDecider(req => {
        if (req.method === 'PUT' && /upload_id=/.test(req.url)) {
          chunkPuts++;
          if (chunkPuts === 2) {
            return { status: 503 };
          }
          if (chunkPuts === 4) {
            return { dropAfterBodyBytes: 512 * 1024 };
          }
        }
        return undefined;
      });
      const sessions = server.stats.uploads.resumable;
      const injected = proxy.injected.length;
      const size = 7 * MiB + 3;
      const expected = await hashStream(generatedStream(size, 3));
      const result = await store.write('big', generatedStream(size, 3), {
        size,
      });
      expect(result.size).toBe(size);
      expect(proxy.injected.length - injected).toBe(2);
      // the same session went on: no new resumable upload was started
      expect(server.stats.uploads.resumable - sessions).toBe(1);
      expect(await hashStream(await store.read('big'))).toEqual(expected);
    },
    60_000,
  );

  it('retries small uploads, listings and metadata reads answered 503 / 429', async () => {
    const store = await backendFor(proxy.endpoint).open(
      parseLocation('gs://faults/small'),
    );
    let n = 0;
    proxy.setDecider(() =>
      ++n % 2 === 1 ? { status: n % 4 === 1 ? 503 : 429 } : undefined,
    );
    await store.write('s p a c e', Readable.from(['hello']), { size: 5 });
    const keys: string[] = [];
    for await (const info of store.list()) {
      keys.push(info.key);
    }
    expect(keys).toEqual(['s p a c e']);
    expect(await store.stat('s p a c e')).toMatchObject({ size: 5 });
    expect(proxy.injected.length).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('reports persistent failures as retryable errors', async () => {
    const store = await backendFor(proxy.endpoint, { maxRetries: 1 }).open(
      parseLocation('gs://faults/down'),
    );
    proxy.setDecider(() => ({ status: 503 }));
    const error = await store
      .write('x', Readable.from(['data']), { size: 4 })
      .catch(e => e);
    expect(error.name).toBe('ServiceUnavailableError');
    expect(error.message).toContain('gs://faults/down/x');
    expect(isRetryableError(error)).toBe(true);
    const statError = await store.stat('x').catch(e => e);
    expect(isRetryableError(statError)).toBe(true);
  }, 60_000);
});

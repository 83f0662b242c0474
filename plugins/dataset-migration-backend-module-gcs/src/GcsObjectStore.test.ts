import { Readable } from 'node:stream';
import { ConfigReader } from '@backstage/config';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { fastCrc32cValidator, GcsStorageBackend } from './GcsStorageBackend';
import { GcsTestServer } from './testing/GcsTestServer';
import { describeObjectStoreConformance } from '@internal/backstage-plugin-dataset-migration-node/testUtils';

describe('GcsObjectStore', () => {
  let server: GcsTestServer;
  let backend: GcsStorageBackend;

  beforeAll(async () => {
    server = await GcsTestServer.start({
      buckets: ['conformance'],
      rewriteChunkBytes: 64 * 1024,
    });
    backend = GcsStorageBackend.fromConfig(
      new ConfigReader({
        datasetMigration: {
          storage: {
            gcs: {
              apiEndpoint: server.endpoint,
              projectId: 'test',
              listPageSize: 7,
              resumableChunkMiB: 8,
            },
          },
        },
      }),
    );
  });
  afterAll(() => server.stop());

  const noParts =
    'no parted writes: a GCS resumable upload takes its chunks in order, from one writer; large objects are copied in one stream';
  describeObjectStoreConformance(
    'gcs',
    () => ({
      open: prefix => backend.open(parseLocation(`gs://conformance/${prefix}`)),
      listPageSize: 7,
      partSizeBytes: 8 * 1024 * 1024,
      partRequests: () => server.stats.resumableChunks,
    }),
    {
      skip: {
        'parts-complete': noParts,
        'parts-rewrite': noParts,
        'parts-abort': noParts,
        'parts-missing-upload': noParts,
        'parts-size-mismatch': noParts,
      },
    },
  );

  it('uses a single request for small objects and rewrite tokens for copies', async () => {
    const store = await backend.open(parseLocation('gs://conformance/paths'));
    const uploads = { ...server.stats.uploads };
    await store.write('small', Readable.from(['hello']), { size: 5 });
    expect(server.stats.uploads.multipart).toBe(uploads.multipart + 1);
    expect(server.stats.uploads.resumable).toBe(uploads.resumable);
    // Bodies of unknown length that turn out small (or empty) too.
    await store.write('unsized', Readable.from(['hel', 'lo']));
    await store.write('unsized-empty', Readable.from([]));
    expect(server.stats.uploads.multipart).toBe(uploads.multipart + 3);
    expect(server.stats.uploads.resumable).toBe(uploads.resumable);
    expect(await store.stat('unsized')).toMatchObject({ size: 5 });
    const body = Buffer.alloc(200 * 1024, 7);
    await store.write('medium', Readable.from([body]), { size: body.length });
    const rewrites = server.stats.rewriteCalls;
    await store.copyWithin!(store, 'medium', 'medium-copy');
    expect(server.stats.rewriteCalls - rewrites).toBe(4);
  });

  it('starts writes at the initial rate of the ramp, per bucket', async () => {
    const ramped = GcsStorageBackend.fromConfig(
      new ConfigReader({
        datasetMigration: {
          storage: {
            gcs: {
              apiEndpoint: server.endpoint,
              projectId: 'test',
              initialWritesPerSecond: 10,
              rampDoublingMinutes: 20,
            },
          },
        },
      }),
    );
    // two prefixes, one bucket: one budget
    const a = await ramped.open(parseLocation('gs://conformance/rate-a'));
    const b = await ramped.open(parseLocation('gs://conformance/rate-b'));
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        (i % 2 ? a : b).write(`k${i}`, Readable.from(['x']), { size: 1 }),
      ),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });

  it('refuses other schemes and missing buckets', async () => {
    await expect(
      backend.open(parseLocation('s3://bucket/x')),
    ).rejects.toMatchObject({ name: 'InputError' });
    const store = await backend.open(parseLocation('gs://no-such-bucket/x'));
    await expect(
      (async () => {
        for await (const _ of store.list()) {
          // drain
        }
      })(),
    ).rejects.toMatchObject({ name: 'NotFoundError' });
  });
});

describe('fastCrc32cValidator', () => {
  it('agrees with the client CRC32C', () => {
    const { CRC32C } = jest.requireActual('@google-cloud/storage');
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    const ours = fastCrc32cValidator();
    ours.update(data.subarray(0, 10));
    ours.update(data.subarray(10));
    const theirs = new CRC32C();
    theirs.update(data);
    expect(ours.toString()).toBe(theirs.toString());
    expect(ours.validate(theirs.toString())).toBe(true);
    expect(ours.validate('AAAAAA==')).toBe(false);
  });
});

import path from 'node:path';
import fs from 'node:fs/promises';
import os from 'node:os';
import {
  mockServices,
  startTestBackend,
  TestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
// The end-to-end test runs the module inside the real plugin.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import datasetMigrationPlugin from '@internal/backstage-plugin-dataset-migration-backend';
import datasetMigrationModuleGcs from '@internal/backstage-plugin-dataset-migration-backend-module-gcs';
import {
  FaultProxy,
  GcsTestServer,
  startFaultProxy,
} from '@internal/backstage-plugin-dataset-migration-backend-module-gcs/testUtils';
import { hashStream } from '@internal/backstage-plugin-dataset-migration-node/testUtils';
import { GcsStorageBackend } from '@internal/backstage-plugin-dataset-migration-backend-module-gcs';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { ConfigReader } from '@backstage/config';
import { datasetMigrationModuleS3 } from './module';
import { S3StorageBackend } from './S3StorageBackend';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { s3rverStorage } from './__testUtils__/helpers';
import {
  dataset,
  fingerprintDir,
  fingerprintStore,
  MiB,
  migrate,
  MigrationRun,
  seed,
} from './__testUtils__/e2e';

jest.setTimeout(900_000);

const COUNT = Number(process.env.E2E_COUNT ?? 2_500);
const LARGE = Number(process.env.E2E_LARGE_MIB ?? 64) * MiB;

function expectValidated(run: MigrationRun, count: number) {
  expect(run.migration).toMatchObject({
    state: 'succeeded',
    progress: { totalItems: count, doneItems: count, failedItems: 0 },
  });
  expect(run.report).toMatchObject({
    passed: true,
    objects: { checked: count, mismatched: 0, missing: 0 },
    manifest: { matches: true },
  });
}

describe('migrations between S3, GCS and local files through the plugin', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
  let s3rver: S3rverProcess;
  let gcs: GcsTestServer;
  let gcsProxy: FaultProxy;
  let root: string;
  let backend: TestBackend;
  let s3: S3StorageBackend;
  let gcsClient: GcsStorageBackend;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    [s3rver, gcs, root] = await Promise.all([
      startS3rver({ buckets: ['source-data', 'returned-data'] }),
      GcsTestServer.start({ buckets: ['landing-zone'] }),
      fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'dm-e2e-'))),
    ]);
    gcsProxy = await startFaultProxy(gcs.endpoint);
    const storage = {
      s3: s3rverStorage(s3rver.endpoint, { partSizeMiB: 8 }),
      gcs: {
        apiEndpoint: gcsProxy.endpoint,
        projectId: 'e2e',
        resumableChunkMiB: 8,
        // Streamed uploads in 8 MiB requests too (default 256), so that a
        // request is dropped mid-object and the rest is read again.
        streamedRequestMiB: 8,
        // One client retry, so injected faults reach the engine's retries.
        maxRetries: 1,
      },
      local: { roots: [root] },
    };
    s3 = S3StorageBackend.fromConfig(
      new ConfigReader({ datasetMigration: { storage } }),
    );
    gcsClient = GcsStorageBackend.fromConfig(
      new ConfigReader({
        datasetMigration: {
          storage: { gcs: { ...storage.gcs, apiEndpoint: gcs.endpoint } },
        },
      }),
    );

    const started = Date.now();
    await seed(await s3.open(parseLocation('s3://source-data/plays')), {
      count: COUNT,
      largeBytes: LARGE,
    });
    await seed(await s3.open(parseLocation('s3://source-data/small')), {
      count: 60,
    });
    timings.seed = (Date.now() - started) / 1000;

    backend = await startTestBackend({
      features: [
        datasetMigrationPlugin,
        datasetMigrationModuleS3,
        datasetMigrationModuleGcs,
        mockServices.database.factory({
          knex: await databases.init('SQLITE_3'),
        }),
        mockServices.rootConfig.factory({
          data: {
            datasetMigration: {
              // 16 MiB parts: the 64 MiB object is copied in 4 parts to
              // S3 (multipart) and local targets (positional writes).
              workers: { pollIntervalMs: 50, concurrency: 16, partMiB: 16 },
              retry: { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 500 },
              storage,
            },
          },
        }),
        catalogServiceMock.factory({
          entities: [
            dataset('plays-s3', 's3://source-data/plays'),
            dataset('plays-s3-copy', 's3://source-data/plays'),
            dataset('plays-gcs', 'gs://landing-zone/plays'),
            dataset('small-s3', 's3://source-data/small'),
          ],
        }),
      ],
    });
  });

  afterAll(async () => {
    // eslint-disable-next-line no-console
    console.log(`e2e timings (s): ${JSON.stringify(timings)}`);
    await backend?.stop();
    s3?.destroy();
    await gcsProxy?.stop();
    await gcs?.stop();
    await s3rver?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('S3 → GCS: 2,500 objects and a 64 MiB resumable upload, validated, bytes equal', async () => {
    const chunksBefore = gcs.stats.resumableChunks;
    // The large object's third chunk loses its connection once: the upload
    // re-sends it from what GCS has, reading the S3 source again from there
    // (a ranged GET), and the item needs no retry of its own.
    let dropped = false;
    gcsProxy.setDecider(req => {
      if (
        dropped ||
        !/upload_id=/.test(req.url) ||
        !String(req.headers['content-range']).startsWith(`bytes ${16 * MiB}-`)
      ) {
        return undefined;
      }
      dropped = true;
      return { dropAfterBodyBytes: 3 * MiB };
    });
    const run = await migrate(
      backend.server,
      'resource:default/plays-s3',
      'gs://landing-zone/plays',
    ).finally(() => gcsProxy.setDecider(() => undefined));
    timings.s3ToGcs = run.seconds;
    expectValidated(run, COUNT);
    expect(dropped).toBe(true);
    expect(run.events.filter(e => e.type === 'item-retry')).toEqual([]);
    // the large object went through a chunked resumable session
    expect(gcs.stats.resumableChunks - chunksBefore).toBeGreaterThanOrEqual(8);
    const source = await s3.open(parseLocation('s3://source-data/plays'));
    const target = await gcsClient.open(
      parseLocation('gs://landing-zone/plays'),
    );
    const expected = await fingerprintStore(source);
    expect(expected.size).toBe(COUNT);
    expect(await fingerprintStore(target)).toEqual(expected);
    expect(await hashStream(await target.read('large/blob 64MiB.bin'))).toEqual(
      await hashStream(await source.read('large/blob 64MiB.bin')),
    );
  });

  it('GCS → S3: back again through multipart uploads, validated, bytes equal', async () => {
    const run = await migrate(
      backend.server,
      'resource:default/plays-gcs',
      's3://returned-data/plays',
    );
    timings.gcsToS3 = run.seconds;
    expectValidated(run, COUNT);
    const source = await gcsClient.open(
      parseLocation('gs://landing-zone/plays'),
    );
    const target = await s3.open(parseLocation('s3://returned-data/plays'));
    expect(await fingerprintStore(target)).toEqual(
      await fingerprintStore(source),
    );
  });

  it('S3 → local files, validated, bytes equal', async () => {
    const run = await migrate(
      backend.server,
      'resource:default/plays-s3-copy',
      `file://${root}/plays`,
    );
    timings.s3ToLocal = run.seconds;
    expectValidated(run, COUNT);
    expect(run.report.methods['sha256-of-parts']).toBe(1);
    const source = await s3.open(parseLocation('s3://source-data/plays'));
    expect(await fingerprintDir(path.join(root, 'plays'))).toEqual(
      await fingerprintStore(source),
    );
  });

  it('S3 → GCS with injected 503s and dropped uploads: the engine retries and says so', async () => {
    // Per key, so the client's own retry (maxRetries: 1) fails as well and
    // the error reaches the engine, which retries the item and logs it.
    const attempts = new Map<string, number>();
    const injectedBefore = gcsProxy.injected.length;
    gcsProxy.setDecider(req => {
      const name = new URL(req.url, 'http://x').searchParams.get('name');
      if (req.method !== 'POST' || !name) {
        return undefined;
      }
      const n = (attempts.get(name) ?? 0) + 1;
      attempts.set(name, n);
      if (name === 'small/empty.bin' && n <= 3) {
        return { status: 503, body: 'backend overloaded' };
      }
      if (name === 'small/with space/and (parens) & more.txt' && n <= 2) {
        return { dropAfterBodyBytes: 10 };
      }
      return undefined;
    });
    try {
      const run = await migrate(
        backend.server,
        'resource:default/small-s3',
        'gs://landing-zone/small',
      );
      expectValidated(run, 60);
      const retries = run.events.filter(e => e.type === 'item-retry');
      expect(retries.length).toBeGreaterThanOrEqual(1);
      expect(retries.map(e => e.message).join('\n')).toMatch(
        /gs:\/\/landing-zone\/small\/empty\.bin/,
      );
      expect(gcsProxy.injected.length - injectedBefore).toBe(5);
      const source = await s3.open(parseLocation('s3://source-data/small'));
      const target = await gcsClient.open(
        parseLocation('gs://landing-zone/small'),
      );
      expect(await fingerprintStore(target)).toEqual(
        await fingerprintStore(source),
      );
    } finally {
      gcsProxy.setDecider(() => undefined);
    }
  });
});

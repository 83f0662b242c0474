import path from 'node:path';
import fs from 'node:fs/promises';
import os from 'node:os';
import request from 'supertest';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { ConfigReader } from '@backstage/config';
// The end-to-end test runs the module inside the real plugin.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import datasetMigrationPlugin from '@internal/backstage-plugin-dataset-migration-backend';
import datasetMigrationModuleGcs, {
  GcsStorageBackend,
} from '@internal/backstage-plugin-dataset-migration-backend-module-gcs';
import {
  FaultProxy,
  GcsTestServer,
  startFaultProxy,
} from '@internal/backstage-plugin-dataset-migration-backend-module-gcs/testUtils';
import {
  parseLocation,
  type Migration,
  type MigrationEvent,
  type ValidationReport,
  type VerifyMode,
} from '@internal/backstage-plugin-dataset-migration-common';
import { datasetMigrationModuleS3 } from './module';
import { S3StorageBackend } from './S3StorageBackend';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { s3rverStorage } from './__testUtils__/helpers';
import {
  API,
  dataset,
  fingerprintStore,
  runToEnd,
  seed,
} from './__testUtils__/e2e';

jest.setTimeout(300_000);

const owner = mockCredentials.user.header();
// Small objects: single-part uploads, so S3 lists each one's MD5 (its ETag).
const COUNT = 40;
const TARGET_BUCKET = 'vm-target';
const TAMPERED = 'a/b/c/d/e/f/g/h/i/j/deep.ndjson';

interface Run {
  migration: Migration;
  report: ValidationReport;
  events: MigrationEvent[];
}

/** Creates, approves and awaits a migration with `options.verify`. */
async function run(
  server: TestBackend['server'],
  datasetRef: string,
  target: string,
  verify?: VerifyMode,
): Promise<Run> {
  const { migration, report } = await runToEnd(
    server,
    {
      dataset: datasetRef,
      target: { location: target },
      ...(verify ? { options: { verify } } : {}),
    },
    120_000,
  );
  const events = await request(server)
    .get(`${API}/migrations/${migration.id}/events`)
    .query({ limit: 1000 })
    .set('Authorization', owner)
    .expect(200);
  return { migration, report, events: events.body.items };
}

/** The object name of a JSON-API request to TARGET_BUCKET, if it is one. */
function targetObject(url: string): string | undefined {
  const m = /^\/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/([^/?]+)/.exec(url);
  return m && m[1] === TARGET_BUCKET ? decodeURIComponent(m[2]) : undefined;
}

describe('verify modes through the plugin, against s3rver and the GCS test server', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
  let s3rver: S3rverProcess;
  let gcs: GcsTestServer;
  let gcsProxy: FaultProxy;
  let root: string;
  let backend: TestBackend;
  let s3: S3StorageBackend;
  let gcsClient: GcsStorageBackend;
  /** Object downloads (alt=media) from the target bucket, by object name. */
  let targetReads: string[] = [];

  beforeAll(async () => {
    [s3rver, gcs, root] = await Promise.all([
      startS3rver({ buckets: ['vm-source'] }),
      GcsTestServer.start({ buckets: ['vm-gcs-source', TARGET_BUCKET] }),
      fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'dm-verify-'))),
    ]);
    gcsProxy = await startFaultProxy(gcs.endpoint);
    const storage = {
      s3: s3rverStorage(s3rver.endpoint),
      gcs: { apiEndpoint: gcsProxy.endpoint, projectId: 'e2e' },
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
    await seed(await s3.open(parseLocation('s3://vm-source/plays')), {
      count: COUNT,
    });
    await seed(
      await gcsClient.open(parseLocation('gs://vm-gcs-source/plays')),
      {
        count: COUNT,
      },
    );
    await fs.mkdir(path.join(root, 'local-plays/day=1'), { recursive: true });
    for (let i = 0; i < 5; i++) {
      await fs.writeFile(
        path.join(root, `local-plays/day=1/${i}.csv`),
        `id,value\n${i},${'x'.repeat(i * 7)}\n`,
      );
    }

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
              workers: { pollIntervalMs: 50, concurrency: 8 },
              retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 200 },
              storage,
            },
          },
        }),
        catalogServiceMock.factory({
          entities: [
            // One dataset per migration: a cutover moves the dataset.
            ...['auto', 'full', 'local', 'tampered', 'none'].map(name =>
              dataset(`plays-s3-${name}`, 's3://vm-source/plays'),
            ),
            dataset('plays-gcs', 'gs://vm-gcs-source/plays'),
            dataset('plays-local', `file://${root}/local-plays`),
          ],
        }),
      ],
    });
  });

  beforeEach(() => {
    targetReads = [];
    gcsProxy.setDecider(req => {
      const name = targetObject(req.url);
      if (req.method === 'GET' && name && req.url.includes('alt=media')) {
        targetReads.push(name);
      }
      return undefined;
    });
  });

  afterAll(async () => {
    await backend?.stop();
    s3?.destroy();
    await gcsProxy?.stop();
    await gcs?.stop();
    await s3rver?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('S3 → GCS by default: every object verified by checksum, none re-read', async () => {
    const { migration, report } = await run(
      backend.server,
      'resource:default/plays-s3-auto',
      `gs://${TARGET_BUCKET}/auto`,
    );
    expect(migration.state).toBe('succeeded');
    expect(report).toMatchObject({
      passed: true,
      objects: { checked: COUNT, mismatched: 0, missing: 0 },
      manifest: { matches: true },
      methods: { 'checksum-md5': COUNT },
      verify: {
        mode: 'auto',
        methods: { checksum: COUNT, full: 0, none: 0 },
        fellBackToFull: [],
      },
    });
    expect(targetReads).toEqual([]);
    const target = await gcsClient.open(
      parseLocation(`gs://${TARGET_BUCKET}/auto`),
    );
    expect(await fingerprintStore(target)).toEqual(
      await fingerprintStore(
        await s3.open(parseLocation('s3://vm-source/plays')),
      ),
    );
  });

  it("S3 → GCS with verify 'full': every object re-read from the target", async () => {
    const { migration, report } = await run(
      backend.server,
      'resource:default/plays-s3-full',
      `gs://${TARGET_BUCKET}/full`,
      'full',
    );

    expect(migration.state).toBe('succeeded');
    expect(report.verify).toEqual({
      mode: 'full',
      methods: { checksum: 0, full: COUNT, none: 0 },
      fellBackToFull: [],
    });
    expect(report.methods).toEqual({ sha256: COUNT });
    const target = await gcsClient.open(
      parseLocation(`gs://${TARGET_BUCKET}/full`),
    );
    // Every object was downloaded, once, empty ones too (one GET each).
    const objects = [...(await fingerprintStore(target))];
    expect(objects.some(([, v]) => v.startsWith('0:'))).toBe(true);
    expect(targetReads.sort()).toEqual(
      objects.map(([key]) => `full/${key}`).sort(),
    );
  });

  it('GCS → GCS (server-side rewrite): verified by the checksums GCS listed for the source', async () => {
    const rewrites = gcs.stats.rewriteCalls;
    const { migration, report } = await run(
      backend.server,
      'resource:default/plays-gcs',
      `gs://${TARGET_BUCKET}/rewritten`,
      'checksum',
    );
    expect(migration.state).toBe('succeeded');
    expect(gcs.stats.rewriteCalls - rewrites).toBe(COUNT);
    expect(report).toMatchObject({
      passed: true,
      methods: { 'checksum-md5': COUNT },
      verify: {
        mode: 'checksum',
        methods: { checksum: COUNT, full: 0, none: 0 },
      },
    });
    expect(targetReads).toEqual([]);
  });

  it('S3 → local files: no checksum in common, so every object falls back to full', async () => {
    const { migration, report } = await run(
      backend.server,
      'resource:default/plays-s3-local',
      `file://${root}/from-s3`,
      'checksum',
    );
    expect(migration.state).toBe('succeeded');
    expect(report.verify).toMatchObject({
      mode: 'checksum',
      methods: { checksum: 0, full: COUNT, none: 0 },
    });
    expect(report.verify!.fellBackToFull).toHaveLength(COUNT);
    expect(report.methods).toEqual({ sha256: COUNT });
  });

  it('local files → GCS: compares the MD5 hashed while streaming with the one GCS keeps', async () => {
    const { migration, report } = await run(
      backend.server,
      'resource:default/plays-local',
      `gs://${TARGET_BUCKET}/from-local`,
    );
    expect(migration.state).toBe('succeeded');
    expect(report.verify!.methods).toEqual({ checksum: 5, full: 0, none: 0 });
    expect(targetReads).toEqual([]);
  });

  it('a target object changed behind the engine, same size, is caught by checksum and rolled back', async () => {
    const name = `tampered/${TAMPERED}`;
    let tampered = false;
    gcsProxy.setDecider(req => {
      const object = targetObject(req.url);
      if (req.url.includes('alt=media')) {
        if (object) targetReads.push(object);
        return undefined;
      }
      // The first look at the object once it is stored: the copy's own
      // upload is done, validation has not compared it yet.
      if (
        !tampered &&
        req.method === 'GET' &&
        object === name &&
        gcs.store.get(TARGET_BUCKET, name)
      ) {
        const size = Number(gcs.store.get(TARGET_BUCKET, name)!.resource.size);
        gcs.store.overwriteSync(TARGET_BUCKET, name, Buffer.alloc(size, '#'));
        tampered = true;
      }
      return undefined;
    });
    const { migration, report, events } = await run(
      backend.server,
      'resource:default/plays-s3-tampered',
      `gs://${TARGET_BUCKET}/tampered`,
      'checksum',
    );
    expect(tampered).toBe(true);
    expect(migration.state).toBe('rolled-back');
    expect(report).toMatchObject({
      passed: false,
      objects: { checked: COUNT, mismatched: 1, missing: 0 },
      manifest: { matches: false },
      failures: [
        {
          key: TAMPERED,
          method: 'checksum',
          problem: expect.stringMatching(
            /^md5 [0-9a-f]{32} differs from source md5 [0-9a-f]{32}$/,
          ),
        },
      ],
    });
    expect(targetReads).toEqual([]);
    expect(events.find(e => e.type === 'validation-report')?.message).toMatch(
      /^Validation failed: 1 mismatched.*verified 40 by checksum/,
    );
    // The rollback deleted what the migration wrote.
    const target = await gcsClient.open(
      parseLocation(`gs://${TARGET_BUCKET}/tampered`),
    );
    expect((await fingerprintStore(target)).size).toBe(0);
  });

  it("refuses verify 'none' without datasetMigration.validation.allowVerifyNone", async () => {
    const res = await request(backend.server)
      .post(`${API}/migrations`)
      .set('Authorization', owner)
      .send({
        dataset: 'resource:default/plays-s3-none',
        target: { location: `gs://${TARGET_BUCKET}/none` },
        options: { verify: 'none' },
      });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      name: 'InputError',
      message: expect.stringMatching(
        /datasetMigration\.validation\.allowVerifyNone/,
      ),
    });
  });
});

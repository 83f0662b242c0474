import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Knex } from 'knex';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
  TestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
// These tests run the modules inside the real plugin.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import datasetMigrationPlugin from '@internal/backstage-plugin-dataset-migration-backend';
import datasetMigrationModuleGcs from '@internal/backstage-plugin-dataset-migration-backend-module-gcs';
import { GcsTestServer } from '@internal/backstage-plugin-dataset-migration-backend-module-gcs/testUtils';
import { datasetMigrationModuleS3 } from './module';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { dataset } from './__testUtils__/e2e';
import {
  closedPort,
  endpointLeaks,
  silentServer,
} from './__testUtils__/deadEndpoints';

jest.setTimeout(120_000);

const API = '/api/dataset-migration';
const owner = mockCredentials.user.header();

/*
 * POST /migrations must touch the stores before it plans: a scheme whose
 * backend is not configured is a 400 at once, a dead or silent endpoint a
 * 503 within datasetMigration.timeouts.preflightSeconds, a missing bucket a
 * 400 naming it — and none of them leaves a migration behind.
 */
describe('POST /migrations against unconfigured and unreachable object stores', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
  let root: string;
  let s3rver: S3rverProcess;
  let gcs: GcsTestServer;
  const running: TestBackend[] = [];

  beforeAll(async () => {
    root = await fs.realpath(
      await fs.mkdtemp(path.join(os.tmpdir(), 'dm-preflight-')),
    );
    await fs.mkdir(path.join(root, 'plays'));
    await fs.mkdir(path.join(root, 'empty'));
    await fs.writeFile(path.join(root, 'plays', 'a.csv'), 'user,track\n');
    [s3rver, gcs] = await Promise.all([
      startS3rver({ buckets: ['warehouse'] }),
      GcsTestServer.start({ buckets: ['landing-zone'] }),
    ]);
  });

  afterAll(async () => {
    await Promise.all(running.map(b => b.stop()));
    await Promise.all([s3rver?.stop(), gcs?.stop()]);
    await fs.rm(root, { recursive: true, force: true });
  });

  async function start(storage: object, preflightSeconds = 3) {
    const knex = await databases.init('SQLITE_3');
    const backend = await startTestBackend({
      features: [
        datasetMigrationPlugin,
        datasetMigrationModuleS3,
        datasetMigrationModuleGcs,
        mockServices.database.factory({ knex }),
        mockServices.rootConfig.factory({
          data: {
            datasetMigration: {
              timeouts: { preflightSeconds },
              storage: { local: { roots: [root] }, ...storage },
            },
          },
        }),
        catalogServiceMock.factory({
          entities: [
            dataset('plays', `file://${root}/plays`),
            dataset('empty', `file://${root}/empty`),
            dataset('plays-s3', 's3://warehouse/plays'),
          ],
        }),
      ],
    });
    running.push(backend);
    return { server: backend.server, knex };
  }

  async function create(
    server: TestBackend['server'],
    target: string,
    datasetRef = 'resource:default/plays',
  ) {
    const started = Date.now();
    const res = await request(server)
      .post(`${API}/migrations`)
      .set('Authorization', owner)
      .send({ dataset: datasetRef, target: { location: target } });
    return { res, ms: Date.now() - started };
  }

  async function rows(knex: Knex) {
    const [{ count }] = await knex('dm_migrations').count({ count: '*' });
    return Number(count);
  }

  it('refuses s3:// and gs:// at once with 400 when the modules are not configured', async () => {
    const { server, knex } = await start({});
    for (const [target, scheme, key] of [
      ['s3://warehouse/plays-copy', 's3', 's3'],
      ['gs://landing-zone/plays', 'gs', 'gcs'],
    ]) {
      const { res, ms } = await create(server, target);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({
        name: 'InputError',
        message: `${scheme}:// locations are not configured on this Backstage backend: set datasetMigration.storage.${key} (see the module README)`,
      });
      expect(ms).toBeLessThan(1000);
    }
    // An s3:// source is refused the same way.
    const { res } = await create(
      server,
      `file://${root}/copy`,
      'resource:default/plays-s3',
    );
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(
      /^s3:\/\/ locations are not configured/,
    );
    expect(await rows(knex)).toBe(0);
  });

  it('answers 503 for a dead S3 endpoint, naming the bucket and not the endpoint', async () => {
    const port = await closedPort();
    const { server, knex } = await start({
      s3: {
        endpoint: `http://127.0.0.1:${port}`,
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      },
    });
    // An empty dataset used to "succeed" here without S3 ever answering.
    const { res, ms } = await create(
      server,
      's3://warehouse/plays-copy',
      'resource:default/empty',
    );
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({
      name: 'ServiceUnavailableError',
      message: 's3://warehouse/plays-copy is unreachable (connection refused)',
    });
    expect(res.body.error.cause).toBeUndefined();
    expect(ms).toBeLessThan(3500);
    const text = JSON.stringify(res.body);
    for (const leak of endpointLeaks(port)) {
      expect(text).not.toContain(leak);
    }
    expect(await rows(knex)).toBe(0);
  });

  it('answers 503 within the bound when the S3 endpoint accepts but never answers', async () => {
    const silent = await silentServer();
    try {
      const { server, knex } = await start(
        {
          s3: {
            endpoint: silent.endpoint,
            forcePathStyle: true,
            credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
          },
        },
        1,
      );
      const { res, ms } = await create(server, 's3://warehouse/plays-copy');
      expect(res.status).toBe(503);
      expect(res.body.error.message).toBe(
        's3://warehouse/plays-copy did not answer within 1 s',
      );
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(2500);
      expect(JSON.stringify(res.body)).not.toContain(String(silent.port));
      expect(await rows(knex)).toBe(0);
    } finally {
      await silent.stop();
    }
  });

  it('answers 400 naming a missing bucket, and plans when the buckets exist', async () => {
    const { server, knex } = await start({
      s3: {
        endpoint: s3rver.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      },
      gcs: { apiEndpoint: gcs.endpoint, projectId: 'preflight' },
    });
    const s3Missing = await create(server, 's3://no-such-bucket/plays');
    expect(s3Missing.res.status).toBe(400);
    expect(s3Missing.res.body.error.message).toBe(
      "s3://no-such-bucket/plays: bucket 'no-such-bucket' does not exist",
    );
    const gsMissing = await create(server, 'gs://no-such-bucket/plays');
    expect(gsMissing.res.status).toBe(400);
    expect(gsMissing.res.body.error.message).toBe(
      "gs://no-such-bucket/plays: bucket 'no-such-bucket' does not exist",
    );
    expect(await rows(knex)).toBe(0);

    const s3Ok = await create(server, 's3://warehouse/plays-copy');
    expect(s3Ok.res.status).toBe(201);
    const gsOk = await create(server, 'gs://landing-zone/plays');
    expect(gsOk.res.status).toBe(201);
    expect(await rows(knex)).toBe(2);
  });

  it('answers 503 for a dead GCS endpoint without naming it', async () => {
    const port = await closedPort();
    const { server, knex } = await start({
      gcs: { apiEndpoint: `http://127.0.0.1:${port}`, projectId: 'preflight' },
    });
    const { res, ms } = await create(server, 'gs://landing-zone/plays');
    expect(res.status).toBe(503);
    expect(res.body.error.message).toMatch(
      /^gs:\/\/landing-zone\/plays (is unreachable \(connection refused\)|did not answer within 3 s)$/,
    );
    expect(ms).toBeLessThan(4500);
    const text = JSON.stringify(res.body);
    for (const leak of [...endpointLeaks(port), '/storage/v1']) {
      expect(text).not.toContain(leak);
    }
    expect(await rows(knex)).toBe(0);
  });
});

import path from 'node:path';
import fs from 'node:fs/promises';
import os from 'node:os';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import request from 'supertest';
import {
  mockCredentials,
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
import { GcsTestServer } from '@internal/backstage-plugin-dataset-migration-backend-module-gcs/testUtils';
import { generatedStream } from '@internal/backstage-plugin-dataset-migration-node/testUtils';
import { API, dataset, MiB } from './__testUtils__/e2e';

jest.setTimeout(300_000);

const owner = mockCredentials.user.header();

describe('a write that stalls', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
  let gcs: GcsTestServer;
  let root: string;
  let backend: TestBackend;

  beforeAll(async () => {
    [gcs, root] = await Promise.all([
      GcsTestServer.start({ buckets: ['gcs-lake'] }),
      fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'dm-stall-'))),
    ]);
    await fs.mkdir(path.join(root, 'src'));
    await fs.writeFile(path.join(root, 'src/small.csv'), 'a,b\n1,2\n');
    await pipeline(
      generatedStream(64 * MiB, 7),
      createWriteStream(path.join(root, 'src/big 64MiB.bin')),
    );
    backend = await startTestBackend({
      features: [
        datasetMigrationPlugin,
        datasetMigrationModuleGcs,
        mockServices.database.factory({
          knex: await databases.init('SQLITE_3'),
        }),
        mockServices.rootConfig.factory({
          data: {
            datasetMigration: {
              autoApprove: true,
              workers: { pollIntervalMs: 50 },
              retry: { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 100 },
              timeouts: { idleSeconds: 2 },
              storage: {
                local: { roots: [{ name: 'lake', path: root }] },
                gcs: {
                  apiEndpoint: gcs.endpoint,
                  projectId: 'e2e',
                  resumableChunkMiB: 1,
                  maxRetries: 1,
                },
              },
            },
          },
        }),
        catalogServiceMock.factory({
          entities: [dataset('plays', 'file://lake/src')],
        }),
      ],
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await gcs?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('against a server that finalises a resumable upload on its first chunk: retried, then a clear failure and a rollback, within a bounded time', async () => {
    gcs.faults.finalizeResumableOnFirstChunk = true;
    const started = Date.now();
    const created = await request(backend.server)
      .post(`${API}/migrations`)
      .set('Authorization', owner)
      .send({
        dataset: 'resource:default/plays',
        target: { location: 'gs://gcs-lake/stalled' },
      })
      .expect(201);
    const id = created.body.id;
    let migration = created.body;
    while (!['rolled-back', 'succeeded'].includes(migration.state)) {
      expect(Date.now() - started).toBeLessThan(90_000);
      await new Promise(r => setTimeout(r, 200));
      migration = (
        await request(backend.server)
          .get(`${API}/migrations/${id}`)
          .set('Authorization', owner)
          .expect(200)
      ).body;
    }
    const seconds = (Date.now() - started) / 1000;
    expect(migration.state).toBe('rolled-back');
    expect(migration.reason).toMatch(/big 64MiB\.bin/);
    const events = (
      await request(backend.server)
        .get(`${API}/migrations/${id}/events`)
        .query({ limit: 500 })
        .set('Authorization', owner)
        .expect(200)
    ).body.items as Array<{ type: string; message: string }>;
    const retries = events.filter(e => e.type === 'item-retry');
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries[0].message).toMatch(/big 64MiB\.bin/);
    expect(events.some(e => e.type === 'item-failed')).toBe(true);
    // Nothing of the broken upload stays in the target.
    expect(
      gcs.store.list('gcs-lake', { prefix: 'stalled/', maxResults: 10 }).items,
    ).toEqual([]);
    // eslint-disable-next-line no-console
    console.log(`stalled write failed cleanly in ${seconds.toFixed(1)} s`);
    gcs.faults.finalizeResumableOnFirstChunk = false;
  });
});

import path from 'node:path';
import fs from 'node:fs/promises';
import os from 'node:os';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
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
// The end-to-end test runs the modules inside the real plugin.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import datasetMigrationPlugin from '@internal/backstage-plugin-dataset-migration-backend';
import datasetMigrationModuleGcs, {
  GcsStorageBackend,
} from '@internal/backstage-plugin-dataset-migration-backend-module-gcs';
import { GcsTestServer } from '@internal/backstage-plugin-dataset-migration-backend-module-gcs/testUtils';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import type { ObjectStore } from '@internal/backstage-plugin-dataset-migration-node';
import { datasetMigrationModuleS3 } from './module';
import { S3StorageBackend } from './S3StorageBackend';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { s3rverStorage } from './__testUtils__/helpers';
import { API, dataset, fingerprintStore, migrate } from './__testUtils__/e2e';

jest.setTimeout(300_000);

const owner = mockCredentials.user.header();

/**
 * Keys real datasets have and naive encodings break: URL-reserved
 * characters (S3's `x-amz-copy-source` must percent-encode them), Hive
 * partitions, `..` inside a name, a trailing dot, keys differing by case.
 */
const AWKWARD_KEYS = [
  'hash#1.csv',
  'plus+sign.csv',
  'year=2026/month=01/part 0.csv',
  'a&b=c.csv',
  'percent%41.csv',
  'question?mark.csv',
  'ünïcødé/数据/файл ♫.csv',
  'v1..v2/x..y.csv',
  'trailing.',
  'Mixed/Case.CSV',
  'mixed/case.csv',
  "semi;colon,comma 'quote'.csv",
  'tilde~star*(paren)!@$.csv',
  'empty.bin',
];
// Present in the target before the migration.
const OVERWRITTEN = ['hash#1.csv', 'year=2026/month=01/part 0.csv'];
const UNRELATED = ['unrelated/keep+me#.txt'];

function body(key: string, salt: string) {
  return key === 'empty.bin' ? Buffer.alloc(0) : Buffer.from(`${salt}:${key}`);
}

async function put(store: ObjectStore, keys: string[], salt: string) {
  for (const key of keys) {
    const data = body(key, salt);
    await store.write(key, Readable.from([data]), { size: data.length });
  }
}

/** Every file and folder under `dir`, hidden ones included, with md5s. */
async function rawDir(dir: string) {
  const result = new Map<string, string>();
  const entries = await fs
    .readdir(dir, { recursive: true, withFileTypes: true })
    .catch(() => []);
  for (const entry of entries) {
    const full = path.join(entry.parentPath, entry.name);
    const rel = path.relative(dir, full).split(path.sep).join('/');
    result.set(
      entry.isDirectory() ? `${rel}/` : rel,
      entry.isDirectory()
        ? 'dir'
        : createHash('md5')
            .update(await fs.readFile(full))
            .digest('hex'),
    );
  }
  return result;
}

describe('the target holds exactly the dataset, on every backend', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
  let s3rver: S3rverProcess;
  let gcs: GcsTestServer;
  let root: string;
  let backend: TestBackend;
  let s3: S3StorageBackend;
  let gcsClient: GcsStorageBackend;

  beforeAll(async () => {
    [s3rver, gcs, root] = await Promise.all([
      startS3rver({ buckets: ['lake'] }),
      GcsTestServer.start({ buckets: ['gcs-lake'] }),
      fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'dm-hygiene-'))),
    ]);
    const storage = {
      s3: s3rverStorage(s3rver.endpoint),
      gcs: { apiEndpoint: gcs.endpoint, projectId: 'e2e' },
      local: { roots: [{ name: 'lake', path: root }] },
    };
    const config = new ConfigReader({ datasetMigration: { storage } });
    s3 = S3StorageBackend.fromConfig(config);
    gcsClient = GcsStorageBackend.fromConfig(config);
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
              workers: { pollIntervalMs: 50 },
              retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 200 },
              storage,
            },
          },
        }),
        catalogServiceMock.factory({
          entities: [
            dataset('s3-src', 's3://lake/src'),
            dataset('gcs-src', 'gs://gcs-lake/src'),
            dataset('local-src', 'file://lake/src'),
          ],
        }),
      ],
    });
  });

  afterAll(async () => {
    await backend?.stop();
    s3?.destroy();
    await gcs?.stop();
    await s3rver?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  const open = (uri: string) => {
    const location = parseLocation(uri);
    if (location.scheme === 's3') return s3.open(location);
    if (location.scheme === 'gs') return gcsClient.open(location);
    throw new Error(uri);
  };

  async function rollback(id: string) {
    const res = await request(backend.server)
      .post(`${API}/migrations/${id}/rollback`)
      .set('Authorization', owner)
      .send({});
    expect(res.status).toBe(200);
    for (let i = 0; i < 600; i++) {
      const m = await request(backend.server)
        .get(`${API}/migrations/${id}`)
        .set('Authorization', owner);
      if (m.body.state === 'rolled-back') return;
      await new Promise(r => setTimeout(r, 100));
    }
    throw new Error(`migration ${id} did not roll back`);
  }

  it.each([
    ['S3 → S3 (server-side CopyObject)', 's3://lake'],
    ['GCS → GCS (server-side rewrite)', 'gs://gcs-lake'],
  ])(
    '%s: every awkward key, overwrite, succeed, roll back to exactly before',
    async (_name, bucket) => {
      const source = await open(`${bucket}/src`);
      const target = await open(`${bucket}/dst`);
      await put(source, AWKWARD_KEYS, 'new');
      await put(target, OVERWRITTEN, 'old');
      await put(target, UNRELATED, 'theirs');
      const before = await fingerprintStore(target);
      const expected = new Map([
        ...(await fingerprintStore(source)),
        ...[...before].filter(([key]) => UNRELATED.includes(key)),
      ]);
      const datasetName = bucket.startsWith('s3') ? 's3-src' : 'gcs-src';

      const run = await migrate(
        backend.server,
        `resource:default/${datasetName}`,
        `${bucket}/dst`,
      );
      expect(run.report).toMatchObject({
        passed: true,
        objects: { checked: AWKWARD_KEYS.length, mismatched: 0, missing: 0 },
      });
      // No key needed a retry (a mis-encoded copy source answers NoSuchKey).
      expect(run.events.filter(e => e.type === 'item-retry')).toEqual([]);
      expect(await fingerprintStore(target)).toEqual(expected);
      // The originals are kept, outside the target prefix.
      const backups = await open(
        `${bucket}/.dataset-migration-backups/${run.migration.id}`,
      );
      expect([...(await fingerprintStore(backups)).keys()].sort()).toEqual(
        [...OVERWRITTEN].sort(),
      );

      await rollback(run.migration.id);
      expect(await fingerprintStore(target)).toEqual(before);
      expect((await fingerprintStore(backups)).size).toBe(0);
    },
  );

  it('local → local: every awkward key; the folder tree after rollback equals the one before', async () => {
    const src = path.join(root, 'src');
    const dst = path.join(root, 'dst');
    for (const key of AWKWARD_KEYS) {
      await fs.mkdir(path.dirname(path.join(src, key)), { recursive: true });
      await fs.writeFile(path.join(src, key), body(key, 'new'));
    }
    for (const [keys, salt] of [
      [OVERWRITTEN, 'old'],
      [UNRELATED, 'theirs'],
    ] as const) {
      for (const key of keys) {
        await fs.mkdir(path.dirname(path.join(dst, key)), { recursive: true });
        await fs.writeFile(path.join(dst, key), body(key, salt));
      }
    }
    const before = await rawDir(dst);

    const run = await migrate(
      backend.server,
      'resource:default/local-src',
      'file://lake/dst',
    );
    const after = await rawDir(dst);
    const sourceTree = await rawDir(src);
    const files = (m: Map<string, string>) =>
      [...m.keys()].filter(k => !k.endsWith('/')).sort();
    expect(files(after)).toEqual([...files(sourceTree), ...UNRELATED].sort());
    for (const key of files(sourceTree)) {
      expect([key, after.get(key)]).toEqual([key, sourceTree.get(key)]);
    }
    expect(
      await fs.readdir(
        path.join(root, '.dataset-migration-backups', run.migration.id),
      ),
    ).toEqual(expect.arrayContaining(['hash#1.csv', 'year=2026']));

    await rollback(run.migration.id);
    expect(await rawDir(dst)).toEqual(before);
    expect(await fs.readdir(root)).toEqual(
      expect.not.arrayContaining(['.dataset-migration-backups']),
    );
  });
});

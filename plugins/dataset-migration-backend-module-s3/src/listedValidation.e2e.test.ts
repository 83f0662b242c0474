import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { Readable } from 'node:stream';
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
import {
  FaultProxy,
  startFaultProxy,
} from '@internal/backstage-plugin-dataset-migration-backend-module-gcs/testUtils';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { datasetMigrationModuleS3 } from './module';
import { S3StorageBackend } from './S3StorageBackend';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { s3Config, s3rverStorage } from './__testUtils__/helpers';
import { overwriteS3rverObjectSync } from './__testUtils__/s3rverNames';
import { API, dataset, runToEnd } from './__testUtils__/e2e';

jest.setTimeout(120_000);

const owner = mockCredentials.user.header();
const SOURCE = 'listed-source';
const TARGET = 'listed-target';
const COUNT = 40;
const keyOf = (i: number) => `part-${String(i).padStart(3, '0')}.csv`;
const body = (i: number) => `id,value\n${i},${'x'.repeat(i)}\n`;

/**
 * Validation by checksum of a batch of objects on S3: one ListObjectsV2
 * from the batch's first key instead of a HEAD per object. (From an S3
 * source, listed in key order, so a batch holds neighbouring keys.)
 */
describe('S3 → S3, validated from one target listing per batch', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
  let s3rver: S3rverProcess;
  let proxy: FaultProxy;
  let root: string;
  let backend: TestBackend;
  /** The engine's requests to TARGET: `HEAD key`, `LIST start-after`. */
  let seen: string[] = [];
  let onList: (startAfter: string) => void = () => {};

  beforeAll(async () => {
    [s3rver, root] = await Promise.all([
      startS3rver({ buckets: [SOURCE, TARGET] }),
      fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'dm-listed-'))),
    ]);
    proxy = await startFaultProxy(s3rver.endpoint);
    const seed = S3StorageBackend.fromConfig(s3Config(s3rver.endpoint));
    for (const name of ['plain', 'tampered', 'existing']) {
      const store = await seed.open(parseLocation(`s3://${SOURCE}/${name}`));
      for (let i = 0; i < COUNT; i++) {
        const data = Buffer.from(body(i));
        await store.write(keyOf(i), Readable.from([data]), {
          size: data.length,
        });
      }
    }
    // A target object the migration overwrites, between the batch's keys.
    for (const name of ['existing', 'from-local']) {
      const target = await seed.open(parseLocation(`s3://${TARGET}/${name}`));
      await target.write(keyOf(20), Readable.from(['theirs']), { size: 6 });
    }
    // A local source, written in another order than its keys'.
    await fs.mkdir(path.join(root, 'local'));
    for (let n = 0; n < COUNT; n++) {
      const i = (n * 7) % COUNT;
      await fs.writeFile(path.join(root, 'local', keyOf(i)), body(i));
    }
    seed.destroy();
    backend = await startTestBackend({
      features: [
        datasetMigrationPlugin,
        datasetMigrationModuleS3,
        mockServices.database.factory({
          knex: await databases.init('SQLITE_3'),
        }),
        mockServices.rootConfig.factory({
          data: {
            datasetMigration: {
              // One lane: every object in one batch.
              workers: { pollIntervalMs: 50, concurrency: 1 },
              storage: {
                s3: s3rverStorage(proxy.endpoint),
                local: { roots: [root] },
              },
            },
          },
        }),
        catalogServiceMock.factory({
          entities: [
            ...['plain', 'tampered', 'existing'].map(name =>
              dataset(name, `s3://${SOURCE}/${name}`),
            ),
            dataset('local', `file://${root}/local`),
          ],
        }),
      ],
    });
    proxy.setDecider(req => {
      const url = new URL(req.url, 'http://s3');
      const [, bucket, ...rest] = url.pathname
        .split('/')
        .filter((p, i) => i === 0 || p);
      if (bucket !== TARGET) return undefined;
      if (rest.length === 0 && url.searchParams.get('list-type') === '2') {
        const after = url.searchParams.get('start-after') ?? '';
        seen.push(`LIST ${after}`);
        if (after) onList(after);
      } else if (req.method === 'HEAD') {
        seen.push(`HEAD ${decodeURIComponent(rest.join('/'))}`);
      }
      return undefined;
    });
  });

  beforeEach(() => {
    seen = [];
    onList = () => {};
  });

  afterAll(async () => {
    await backend?.stop();
    await proxy?.stop();
    await s3rver?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('verifies every object by its MD5 ETag with one listing and one HEAD', async () => {
    const { migration, report } = await runToEnd(backend.server, {
      dataset: 'resource:default/plain',
      target: { location: `s3://${TARGET}/plain` },
      options: { verify: 'checksum' },
    });
    expect(migration.state).toBe('succeeded');
    expect(report).toMatchObject({
      passed: true,
      objects: { checked: COUNT, mismatched: 0, missing: 0 },
      verify: { methods: { checksum: COUNT, full: 0 } },
    });
    expect(report.methods).toEqual({ 'checksum-md5': COUNT });
    // Validation: one listing after the first key, whose object is the one
    // HEAD (the copy stage listed the same way for its backup check).
    const listings = seen.filter(r => r === `LIST plain/${keyOf(0)}`);
    expect(listings).toHaveLength(2);
    const validation = seen.slice(seen.lastIndexOf(`LIST plain/${keyOf(0)}`));
    expect(validation.filter(r => r.startsWith('HEAD '))).toEqual([
      `HEAD plain/${keyOf(0)}`,
    ]);
  });

  it('finds an object replaced after the copy in the listing, and rolls back', async () => {
    const replaced = keyOf(17);
    let listings = 0;
    onList = after => {
      // The second listing from the first key: validation's (the first is
      // the copy stage's backup check).
      if (after !== `tampered/${keyOf(0)}` || ++listings !== 2) return;
      // Same size, other bytes: what the listing's ETag must reveal.
      overwriteS3rverObjectSync(
        s3rver.directory,
        TARGET,
        `tampered/${replaced}`,
        Buffer.from(body(17).replace(/x/g, 'y')),
      );
    };
    const { migration, report } = await runToEnd(backend.server, {
      dataset: 'resource:default/tampered',
      target: { location: `s3://${TARGET}/tampered` },
      options: { verify: 'checksum' },
    });
    expect(seen).toContain(`LIST tampered/${keyOf(0)}`);
    expect(migration.state).toBe('rolled-back');
    expect(report).toMatchObject({
      passed: false,
      objects: { checked: COUNT, mismatched: 1 },
      failures: [
        {
          key: replaced,
          method: 'checksum',
          problem: expect.stringMatching(/^md5 \S+ differs from source md5/),
        },
      ],
    });
    // No HEAD of the replaced object: the listing told.
    expect(
      seen.filter(r => r === `HEAD tampered/${replaced}`).length,
    ).toBeLessThanOrEqual(1);
  });
  it('decides the backups of a batch from one listing: the one existing object is backed up, and a rollback restores it', async () => {
    const { migration } = await runToEnd(backend.server, {
      dataset: 'resource:default/existing',
      target: { location: `s3://${TARGET}/existing` },
    });
    expect(migration.state).toBe('succeeded');
    // Before copying, one listing after the first key: a HEAD for the
    // first key's backup check and one for the backup copy of the existing
    // object, instead of a HEAD per object.
    const copy = seen.slice(
      seen.indexOf(`LIST existing/${keyOf(0)}`),
      seen.lastIndexOf(`LIST existing/${keyOf(0)}`),
    );
    expect(copy[0]).toBe(`LIST existing/${keyOf(0)}`);
    expect(copy.filter(r => r.startsWith('HEAD ')).sort()).toEqual([
      `HEAD existing/${keyOf(0)}`,
      `HEAD existing/${keyOf(20)}`,
    ]);
    await request(backend.server)
      .post(`${API}/migrations/${migration.id}/rollback`)
      .set('Authorization', owner)
      .send({})
      .expect(200);
    let state = migration.state;
    for (let i = 0; i < 300 && state !== 'rolled-back'; i++) {
      await new Promise(r => setTimeout(r, 100));
      state = (
        await request(backend.server)
          .get(`${API}/migrations/${migration.id}`)
          .set('Authorization', owner)
          .expect(200)
      ).body.state;
    }
    expect(state).toBe('rolled-back');
    // Exactly what was there before: the one object, as it was.
    const check = S3StorageBackend.fromConfig(s3Config(s3rver.endpoint));
    const target = await check.open(parseLocation(`s3://${TARGET}/existing`));
    const left = [];
    for await (const info of target.list()) left.push(info.key);
    expect(left).toEqual([keyOf(20)]);
    const restored = Buffer.concat(
      await (await target.read(keyOf(20))).toArray(),
    );
    expect(restored.toString()).toBe('theirs');
    check.destroy();
  });

  it('decides the backups and validates from one listing each from a local source too (walked in key order)', async () => {
    const { migration } = await runToEnd(backend.server, {
      dataset: 'resource:default/local',
      target: { location: `s3://${TARGET}/from-local` },
    });
    expect(migration.state).toBe('succeeded');
    // The files were written in another order than their keys', but the
    // local store walks a folder in key order: the batch holds neighbouring
    // keys. The copy stage: one listing after the batch's smallest key, a
    // HEAD for that key and one for the backup of the existing object. The
    // validation: one listing again, and a HEAD for the smallest key only.
    // (The plan's probe lists too, from no key.)
    expect(seen.filter(r => r.startsWith('LIST from-local/'))).toEqual([
      `LIST from-local/${keyOf(0)}`,
      `LIST from-local/${keyOf(0)}`,
    ]);
    const heads = seen.filter(r => r.startsWith('HEAD '));
    expect(heads.sort()).toEqual(
      [
        `HEAD from-local/${keyOf(0)}`,
        `HEAD from-local/${keyOf(0)}`,
        `HEAD from-local/${keyOf(20)}`,
      ].sort(),
    );
    const check = S3StorageBackend.fromConfig(s3Config(s3rver.endpoint));
    const target = await check.open(parseLocation(`s3://${TARGET}/from-local`));
    const replaced = Buffer.concat(
      await (await target.read(keyOf(20))).toArray(),
    );
    expect(replaced.toString()).toBe(body(20));
    check.destroy();
  });
});

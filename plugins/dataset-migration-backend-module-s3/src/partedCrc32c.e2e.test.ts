import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
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
import {
  FaultProxy,
  startFaultProxy,
} from '@internal/backstage-plugin-dataset-migration-backend-module-gcs/testUtils';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { crc32c } from '@internal/backstage-plugin-dataset-migration-node';
import { datasetMigrationModuleS3 } from './module';
import { S3StorageBackend } from './S3StorageBackend';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { s3rverStorage } from './__testUtils__/helpers';
import { overwriteS3rverObjectSync } from './__testUtils__/s3rverNames';
import { dataset, runToEnd } from './__testUtils__/e2e';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
const TARGET = 'crc-target';
const BIG = 'big/blob.bin';
/** Over two 5 MiB parts: copied in 3 parts (workers.partMiB 5). */
const BIG_BYTES = 12 * MiB + 123;
const SMALL = 'small.csv';

const hex = (data: Buffer) => crc32c(data).toString(16).padStart(8, '0');

/** The object key of a path-style request to TARGET, with its query. */
function targetRequest(url: string) {
  const parsed = new URL(url, 'http://s3');
  const [, bucket, ...rest] = parsed.pathname.split('/');
  if (bucket !== TARGET || rest.length === 0) return undefined;
  return {
    key: decodeURIComponent(rest.join('/')),
    query: parsed.searchParams,
  };
}

describe('local → S3 in parts, verified by the full-object CRC32C S3 keeps', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
  let s3rver: S3rverProcess;
  let proxy: FaultProxy;
  let root: string;
  let backend: TestBackend;
  let s3: S3StorageBackend;
  let big: Buffer;
  /** Requests to TARGET objects the engine sent, as `METHOD key [query]`. */
  let seen: string[] = [];

  beforeAll(async () => {
    [s3rver, root] = await Promise.all([
      startS3rver({ buckets: [TARGET] }),
      fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'dm-crc-'))),
    ]);
    proxy = await startFaultProxy(s3rver.endpoint);
    big = randomBytes(BIG_BYTES);
    await fs.mkdir(path.join(root, 'data/big'), { recursive: true });
    await fs.writeFile(path.join(root, 'data', BIG), big);
    await fs.writeFile(path.join(root, 'data', SMALL), 'id,value\n1,2\n');
    const s3Options = { partSizeMiB: 5, checksumAlgorithm: 'CRC32C' };
    s3 = S3StorageBackend.fromConfig(
      new ConfigReader({
        datasetMigration: {
          storage: { s3: s3rverStorage(s3rver.endpoint, s3Options) },
        },
      }),
    );
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
              workers: { pollIntervalMs: 50, concurrency: 4, partMiB: 5 },
              retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 200 },
              storage: {
                s3: s3rverStorage(proxy.endpoint, s3Options),
                local: { roots: [root] },
              },
            },
          },
        }),
        catalogServiceMock.factory({
          // One dataset per migration: a cutover moves the dataset.
          entities: ['ok', 'tampered'].map(name =>
            dataset(`local-${name}`, `file://${root}/data`),
          ),
        }),
      ],
    });
  });

  beforeEach(() => {
    seen = [];
    proxy.setDecider(req => {
      const target = targetRequest(req.url);
      if (target) seen.push(`${req.method} ${target.key} ${target.query}`);
      return undefined;
    });
  });

  afterAll(async () => {
    await backend?.stop();
    s3?.destroy();
    await proxy?.stop();
    await s3rver?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  /** The engine's requests for `key`'s bytes (GET, not HEAD or a part). */
  const reads = (key: string) => seen.filter(r => r.startsWith(`GET ${key} `));

  it('compares the CRC32C folded from the parts with the one S3 keeps, without reading the object back', async () => {
    const { migration, report } = await runToEnd(backend.server, {
      dataset: 'resource:default/local-ok',
      target: { location: `s3://${TARGET}/ok` },
      options: { verify: 'checksum' },
    });
    expect(migration.state).toBe('succeeded');
    // Copied in 3 UploadParts of one multipart upload...
    expect(
      seen.filter(
        r => r.startsWith(`PUT ok/${BIG} `) && r.includes('partNumber'),
      ),
    ).toHaveLength(3);
    // ...and verified by its CRC32C (the small object by its MD5 ETag):
    // no object fell back to a re-read, none was read from the target.
    expect(report).toMatchObject({
      passed: true,
      objects: { checked: 2, mismatched: 0, missing: 0 },
      manifest: { matches: true },
      verify: {
        mode: 'checksum',
        methods: { checksum: 2, full: 0, none: 0 },
        fellBackToFull: [],
      },
    });
    expect(report.methods).toEqual({ 'checksum-crc32c': 1, 'checksum-md5': 1 });
    expect(reads(`ok/${BIG}`)).toEqual([]);
    expect(reads(`ok/${SMALL}`)).toEqual([]);
    // What S3 keeps is the CRC32C of the bytes.
    const stored = await s3.open(parseLocation(`s3://${TARGET}/ok`));
    expect(await stored.stat(BIG)).toMatchObject({
      size: BIG_BYTES,
      checksums: { crc32c: hex(big) },
    });
  });

  it('fails validation and rolls back when the object is replaced after the copy by same-size other bytes', async () => {
    const key = `tampered/${BIG}`;
    const other = randomBytes(BIG_BYTES);
    let completed = false;
    let tampered = false;
    proxy.setDecider(req => {
      const target = targetRequest(req.url);
      if (!target) return undefined;
      seen.push(`${req.method} ${target.key} ${target.query}`);
      if (target.key !== key) return undefined;
      if (req.method === 'POST' && target.query.has('uploadId')) {
        completed = true;
      } else if (req.method === 'HEAD' && completed && !tampered) {
        // The first look at the object once the copy completed it, before
        // validation sees it: another writer's PutObject of other bytes.
        overwriteS3rverObjectSync(s3rver.directory, TARGET, key, other);
        tampered = true;
      }
      return undefined;
    });
    const { migration, report } = await runToEnd(backend.server, {
      dataset: 'resource:default/local-tampered',
      target: { location: `s3://${TARGET}/tampered` },
      options: { verify: 'checksum' },
    });
    expect(tampered).toBe(true);
    expect(migration.state).toBe('rolled-back');
    expect(report).toMatchObject({
      passed: false,
      objects: { checked: 2, mismatched: 1, missing: 0 },
      failures: [
        {
          key: BIG,
          method: 'checksum',
          problem: `crc32c ${hex(other)} differs from source crc32c ${hex(
            big,
          )}`,
        },
      ],
    });
    expect(reads(key)).toEqual([]);
    // The rollback deleted what the migration wrote.
    const target = await s3.open(parseLocation(`s3://${TARGET}/tampered`));
    const left = [];
    for await (const info of target.list()) left.push(info.key);
    expect(left).toEqual([]);
  });
});

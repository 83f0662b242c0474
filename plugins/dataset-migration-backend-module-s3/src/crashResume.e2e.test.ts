import path from 'node:path';
import fs from 'node:fs/promises';
import os from 'node:os';
import request from 'supertest';
import { mockCredentials } from '@backstage/backend-test-utils';
import { ConfigReader, type JsonObject } from '@backstage/config';
import { GcsStorageBackend } from '@internal/backstage-plugin-dataset-migration-backend-module-gcs';
import { GcsTestServer } from '@internal/backstage-plugin-dataset-migration-backend-module-gcs/testUtils';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { S3StorageBackend } from './S3StorageBackend';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { s3rverStorage } from './__testUtils__/helpers';
import { ChildBackend, startChildBackend } from './__testUtils__/childBackend';
import {
  API,
  dataset,
  fingerprintDir,
  fingerprintStore,
  MiB,
  seed,
} from './__testUtils__/e2e';

jest.setTimeout(600_000);

const owner = mockCredentials.user.header();
const COUNT = 600;

/** Every file under `dir`, hidden ones included (`fingerprintDir` too). */
async function allFiles(dir: string): Promise<string[]> {
  const entries = await fs
    .readdir(dir, { recursive: true, withFileTypes: true })
    .catch(() => []);
  return entries
    .filter(e => e.isFile())
    .map(e =>
      path
        .relative(dir, path.join(e.parentPath, e.name))
        .split(path.sep)
        .join('/'),
    )
    .sort();
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 20));
  }
}

describe('a backend killed mid-copy resumes in a new process; the target ends exactly the source', () => {
  let s3rver: S3rverProcess;
  let gcs: GcsTestServer;
  let root: string;
  let s3: S3StorageBackend;
  let gcsClient: GcsStorageBackend;
  let storage: JsonObject;
  const children: ChildBackend[] = [];

  beforeAll(async () => {
    [s3rver, gcs, root] = await Promise.all([
      startS3rver({ buckets: ['lake'] }),
      GcsTestServer.start({ buckets: ['gcs-lake'] }),
      fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'dm-crash-'))),
    ]);
    storage = {
      s3: s3rverStorage(s3rver.endpoint),
      gcs: { apiEndpoint: gcs.endpoint, projectId: 'e2e' },
      local: { roots: [{ name: 'lake', path: root }] },
    };
    const config = new ConfigReader({ datasetMigration: { storage } });
    s3 = S3StorageBackend.fromConfig(config);
    gcsClient = GcsStorageBackend.fromConfig(config);
    await seed(await s3.open(parseLocation('s3://lake/src')), {
      count: COUNT,
      largeBytes: 160 * MiB,
    });
  });

  afterAll(async () => {
    await Promise.all(children.map(c => c.kill()));
    s3?.destroy();
    await gcs?.stop();
    await s3rver?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  async function start(sqliteFile: string) {
    const child = await startChildBackend({
      sqliteFile,
      config: {
        datasetMigration: {
          autoApprove: true,
          workers: { pollIntervalMs: 50, concurrency: 4, leaseSeconds: 2 },
          retry: { maxAttempts: 4, baseDelayMs: 50, maxDelayMs: 200 },
          storage,
        },
      },
      entities: [dataset('plays', 's3://lake/src')],
    });
    children.push(child);
    return child;
  }

  const get = async (child: ChildBackend, id: string) =>
    (
      await request(child.url)
        .get(`${API}/migrations/${id}`)
        .set('Authorization', owner)
        .expect(200)
    ).body;

  async function migrateAndKill(
    sqliteFile: string,
    target: string,
    killWhen: (child: ChildBackend, id: string) => Promise<boolean>,
    /** Looks at what the killed process left, before the new one starts. */
    afterKill: () => Promise<string[]> = async () => [],
  ) {
    const first = await start(sqliteFile);
    const created = await request(first.url)
      .post(`${API}/migrations`)
      .set('Authorization', owner)
      .send({ dataset: 'resource:default/plays', target: { location: target } })
      .expect(201);
    const id = created.body.id as string;
    await until('the moment to kill', async () =>
      (await killWhen(first, id)) ? true : undefined,
    );
    await first.kill();
    const left = await afterKill();
    const killedAt = await get(await start(sqliteFile), id).catch(() => null);
    return { id, killedAt, left };
  }

  async function resume(id: string) {
    const second = children[children.length - 1];
    const started = Date.now();
    const done = await until(
      'the resumed migration to finish',
      async () => {
        const m = await get(second, id);
        return ['succeeded', 'failed', 'rolled-back'].includes(m.state)
          ? m
          : undefined;
      },
      300_000,
    );
    const events = (
      await request(second.url)
        .get(`${API}/migrations/${id}/events`)
        .query({ limit: 1000 })
        .set('Authorization', owner)
        .expect(200)
    ).body.items as Array<{ type: string; details?: any }>;
    expect({ state: done.state, reason: done.reason }).toEqual({
      state: 'succeeded',
      reason: undefined,
    });
    return { done, events, seconds: (Date.now() - started) / 1000 };
  }

  it('S3 → local: the temp files killed writes left are removed on resume, a parted write is resumed', async () => {
    const sqlite = path.join(root, 'to-local.sqlite');
    const dst = path.join(root, 'dst');
    const tempFiles = async () =>
      (await allFiles(dst)).filter(f => /\.dm-tmp-/.test(f));
    const { id, left } = await migrateAndKill(
      sqlite,
      'file://lake/dst',
      async () => {
        // Kill while the large object is being written, well into it.
        for (const file of await allFiles(dst)) {
          if (/\.dm-tmp-/.test(file) && /64MiB/.test(file)) {
            const { size } = await fs.stat(path.join(dst, file));
            if (size > 8 * MiB) return true;
          }
        }
        return false;
      },
      // Listed before the new process starts: its own writes' temp files
      // are renamed into place, not swept, and must not count here.
      tempFiles,
    );
    expect(left.length).toBeGreaterThanOrEqual(1);

    const { events } = await resume(id);
    expect(await allFiles(dst)).toEqual(
      [
        ...(
          await fingerprintStore(await s3.open(parseLocation('s3://lake/src')))
        ).keys(),
      ].sort(),
    );
    expect(await fingerprintDir(dst)).toEqual(
      await fingerprintStore(await s3.open(parseLocation('s3://lake/src'))),
    );
    // A parted write's temp file (the 160 MiB object is copied in parts) is
    // the upload the resumed process goes on with and completes; the temp
    // files of killed whole-object writes are swept.
    const parted = left.filter(f => /\.dm-tmp-p/.test(f));
    expect(parted.length).toBeLessThanOrEqual(1);
    const swept = events.find(e => e.type === 'temp-files-removed');
    expect(swept?.details?.removed ?? 0).toBe(left.length - parted.length);
    expect(await tempFiles()).toEqual([]);
  });

  it.each([
    ['S3 → GCS', 'gs://gcs-lake/dst'],
    ['S3 → S3', 's3://lake/dst'],
  ])(
    '%s: nothing extra in the target after a kill mid-copy',
    async (_name, target) => {
      const sqlite = path.join(root, `${target.replace(/\W/g, '-')}.sqlite`);
      const { id } = await migrateAndKill(
        sqlite,
        target,
        async (child, mid) => {
          const m = await get(child, mid);
          return (
            m.progress.doneItems >= 30 && m.progress.doneItems < COUNT - 50
          );
        },
      );
      await resume(id);
      const targetStore = target.startsWith('gs')
        ? await gcsClient.open(parseLocation(target))
        : await s3.open(parseLocation(target));
      expect(await fingerprintStore(targetStore)).toEqual(
        await fingerprintStore(await s3.open(parseLocation('s3://lake/src'))),
      );
    },
  );
});

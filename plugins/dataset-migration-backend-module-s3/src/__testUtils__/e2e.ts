import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import request from 'supertest';
import { mockCredentials } from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import type {
  Migration,
  MigrationEvent,
  ValidationReport,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { ObjectStore } from '@internal/backstage-plugin-dataset-migration-node';
import { generatedStream } from '@internal/backstage-plugin-dataset-migration-node/testUtils';

export const API = '/api/dataset-migration';
const owner = mockCredentials.user.header();
const MiB = 1024 * 1024;

/** A dataset entity as the catalog holds it. */
export function dataset(name: string, location: string): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Resource',
    metadata: {
      name,
      namespace: 'default',
      annotations: {
        'dataset-migration.io/location': location,
        'dataset-migration.io/format': 'binary',
      },
    },
    spec: { type: 'dataset', owner: 'user:default/mock' },
  };
}

/**
 * Writes `count` objects: zero-byte ones, keys with spaces, unicode and deep
 * prefixes, many small ones, and optionally one large object.
 */
export async function seed(
  store: ObjectStore,
  options: { count: number; largeBytes?: number },
): Promise<string[]> {
  const special = [
    'empty.bin',
    'with space/and (parens) & more.txt',
    'ünïcødé/数据/файл ♫.csv',
    'a/b/c/d/e/f/g/h/i/j/deep.ndjson',
    'part/year=2026/month=11/day=21/part-0000.parquet',
  ];
  const keys: string[] = [];
  const jobs: Array<() => Promise<void>> = [];
  const small = (key: string, size: number) => {
    keys.push(key);
    jobs.push(async () => {
      const body = Buffer.alloc(size, key);
      await store.write(key, Readable.from([body]), { size });
    });
  };
  special.forEach((key, i) => small(key, i === 0 ? 0 : 17 * i));
  if (options.largeBytes) {
    const size = options.largeBytes;
    keys.push('large/blob 64MiB.bin');
    jobs.push(async () => {
      await store.write('large/blob 64MiB.bin', generatedStream(size, 99), {
        size,
      });
    });
  }
  for (let i = keys.length; i < options.count; i++) {
    // every tenth object is empty
    small(
      `part/day=${i % 9}/hour=${i % 24}/file ${String(i).padStart(5, '0')}.csv`,
      i % 10 === 0 ? 0 : (i * 31) % 700,
    );
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: 24 }, async () => {
      while (next < jobs.length) {
        await jobs[next++]();
      }
    }),
  );
  return keys;
}

/** key → `size:md5` of every object in a store (md5 from metadata when known). */
export async function fingerprintStore(
  store: ObjectStore,
): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  for await (const info of store.list()) {
    let md5 = info.checksums?.md5;
    if (!md5) {
      const hash = createHash('md5');
      for await (const chunk of await store.read(info.key)) {
        hash.update(chunk as Buffer);
      }
      md5 = hash.digest('hex');
    }
    result.set(info.key, `${info.size}:${md5}`);
  }
  return result;
}

/** The same for a local folder, leaving out the engine's backup area. */
export async function fingerprintDir(dir: string) {
  const result = new Map<string, string>();
  const entries = await fs.readdir(dir, {
    recursive: true,
    withFileTypes: true,
  });
  for (const entry of entries) {
    const full = path.join(entry.parentPath, entry.name);
    const key = path.relative(dir, full).split(path.sep).join('/');
    if (!entry.isFile() || key.startsWith('.dataset-migration-backups/')) {
      continue;
    }
    const hash = createHash('md5');
    let size = 0;
    for await (const chunk of (await fs.open(full)).createReadStream()) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    result.set(key, `${size}:${hash.digest('hex')}`);
  }
  return result;
}

export interface MigrationRun {
  migration: Migration;
  report: ValidationReport;
  events: MigrationEvent[];
  seconds: number;
}

/** Creates, approves and awaits a migration through the REST API. */
/** Approves a migration as its owner. */
async function approve(server: Parameters<typeof request>[0], id: string) {
  await request(server)
    .post(`${API}/migrations/${id}/approve`)
    .set('Authorization', owner)
    .send({})
    .expect(200);
}

/** Polls a migration until it ends (or the deadline passes). */
async function awaitEnd(
  server: Parameters<typeof request>[0],
  created: Migration,
  deadline: number,
  intervalMs: number,
): Promise<Migration> {
  let migration = created;
  while (
    !['succeeded', 'failed', 'rolled-back', 'cancelled'].includes(
      migration.state,
    ) &&
    Date.now() < deadline
  ) {
    await new Promise(r => setTimeout(r, intervalMs));
    migration = (
      await request(server)
        .get(`${API}/migrations/${migration.id}`)
        .set('Authorization', owner)
        .expect(200)
    ).body;
  }
  return migration;
}

export async function migrate(
  server: Parameters<typeof request>[0],
  datasetRef: string,
  targetLocation: string,
  timeoutMs = 300_000,
): Promise<MigrationRun> {
  const started = Date.now();
  const created = await request(server)
    .post(`${API}/migrations`)
    .set('Authorization', owner)
    .send({ dataset: datasetRef, target: { location: targetLocation } });
  if (created.status !== 201) {
    throw new Error(
      `create failed: ${created.status} ${JSON.stringify(created.body)}`,
    );
  }
  const id = created.body.id as string;
  if (created.body.state === 'awaiting-approval') await approve(server, id);
  const migration = await awaitEnd(
    server,
    created.body,
    started + timeoutMs,
    250,
  );
  const events: MigrationEvent[] = [];
  for (;;) {
    const page = await request(server)
      .get(`${API}/migrations/${id}/events`)
      .query({ after: events[events.length - 1]?.id ?? 0, limit: 500 })
      .set('Authorization', owner)
      .expect(200);
    events.push(...page.body.items);
    if (page.body.items.length < 500) {
      break;
    }
  }
  const report = await request(server)
    .get(`${API}/migrations/${id}/report`)
    .set('Authorization', owner);
  if (migration.state !== 'succeeded') {
    throw new Error(
      `migration ${id} ended '${migration.state}': ${JSON.stringify(
        events.filter(e => /fail|error|retry/i.test(e.type)).slice(0, 10),
        null,
        1,
      )}`,
    );
  }
  return {
    migration,
    report: report.body,
    events,
    seconds: (Date.now() - started) / 1000,
  };
}

/**
 * Creates a migration (the request body as given), approves it and waits
 * for its end, whatever it is: the migration and its report.
 */
export async function runToEnd(
  server: Parameters<typeof request>[0],
  body: object,
  timeoutMs = 90_000,
): Promise<{ migration: Migration; report: ValidationReport }> {
  const created = await request(server)
    .post(`${API}/migrations`)
    .set('Authorization', owner)
    .send(body);
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  await approve(server, id);
  const migration = await awaitEnd(
    server,
    created.body,
    Date.now() + timeoutMs,
    100,
  );
  const report = await request(server)
    .get(`${API}/migrations/${id}/report`)
    .set('Authorization', owner)
    .expect(200);
  return { migration, report: report.body };
}

export { MiB };

import {
  mockCredentials,
  TestDatabases,
  type TestBackend,
} from '@backstage/backend-test-utils';
import type {
  Migration,
  MigrationEvent,
} from '@internal/backstage-plugin-dataset-migration-common';
import path from 'node:path';
import request from 'supertest';
import {
  expectSubsequence,
  readTree,
  transitions,
  waitForState,
} from './__testUtils__/flow';
import { MemoryStorage } from './__testUtils__/memoryStorage';
import {
  API,
  consumerEntity,
  datasetEntity,
  listFiles,
  makeTempRoot,
  ownerOnlyPermissions,
  startPluginBackend,
  writeFiles,
} from './__testUtils__/testBackend';

jest.setTimeout(120_000);

const owner = mockCredentials.user.header();
const stranger = mockCredentials.user.header('user:default/bob');

const SOURCE = {
  'date=2026-11-01/part-0000.csv': 'user_id,track_id\nu1,t1\nu2,t2\n',
  'date=2026-11-01/part-0001.csv': 'user_id,track_id\nu3,t3\n',
  'date=2026-11-02/part-0000.csv': 'user_id,track_id\nu4,t4\n',
  'README.txt': 'Plays, one row per play.\n',
};
// Exists in the target before the migration: overwritten, then restored.
const PRE_EXISTING = { 'README.txt': 'old readme, must survive a rollback\n' };

describe('migrations through the REST API', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });

  describe.each(databases.eachSupportedId())('on %p', databaseId => {
    let backend: TestBackend;
    let root: { dir: string; cleanup(): Promise<void> };
    const memory = new MemoryStorage();

    beforeAll(async () => {
      root = await makeTempRoot();
      await writeFiles(path.join(root.dir, 'plays'), SOURCE);
      await writeFiles(path.join(root.dir, 'sessions'), SOURCE);
      await writeFiles(path.join(root.dir, 'out/plays'), PRE_EXISTING);
      for (const [key, content] of Object.entries(SOURCE)) {
        memory.put(`s3://landing/plays/${key}`, content);
      }
      backend = await startPluginBackend({
        knex: await databases.init(databaseId),
        config: {
          storage: { local: { roots: [{ name: 'data', path: root.dir }] } },
        },
        permissions: ownerOnlyPermissions({
          groups: { 'user:default/carol': ['group:default/analytics'] },
        }),
        features: [memory.module()],
        entities: [
          datasetEntity({
            name: 'plays',
            location: 'file://data/plays',
            format: 'csv',
            consumers: ['component:default/charts'],
          }),
          consumerEntity('charts', 'resource:default/plays'),
          // Only its own dependsOn relation names the dataset.
          consumerEntity('recommendations', 'resource:default/plays'),
          datasetEntity({
            name: 'sessions',
            location: 'file://data/sessions',
            owner: 'analytics',
          }),
          // Spotify models datasets as APIs; the annotation is what counts.
          datasetEntity({
            name: 'landing-plays',
            kind: 'API',
            location: 's3://landing/plays',
          }),
        ],
      });
    });

    afterAll(async () => {
      memory.release();
      await backend?.stop();
      await root?.cleanup();
    });

    it('plans, approves, migrates, validates, cuts over and rolls back', async () => {
      const { server } = backend;
      const created = await request(server)
        .post(`${API}/migrations`)
        .set('Authorization', owner)
        .send({
          dataset: 'resource:default/plays',
          target: { location: 'file://data/out/plays/', format: 'csv' },
        });
      expect(created.status).toBe(201);
      const migration: Migration = created.body;
      expect(migration).toMatchObject({
        id: expect.any(String),
        dataset: 'resource:default/plays',
        source: { location: 'file://data/plays', format: 'csv' },
        target: { location: 'file://data/out/plays', format: 'csv' },
        strategy: 'bulk-copy',
        state: 'awaiting-approval',
        createdBy: 'user:default/mock',
        plan: {
          source: { objectCount: 4 },
          overwrites: { count: 1, sample: ['README.txt'] },
          consumers: [
            'component:default/charts',
            'component:default/recommendations',
          ],
          snapshotHash: expect.stringMatching(/\S{16,}/),
          estimatedSeconds: expect.any(Number),
        },
      });
      const { id } = migration;

      // Planning is a dry run.
      expect(await readTree(path.join(root.dir, 'out/plays'))).toEqual(
        PRE_EXISTING,
      );

      await request(server)
        .get(`${API}/migrations/${id}/report`)
        .set('Authorization', owner)
        .expect(404);

      const listed = await request(server)
        .get(`${API}/migrations`)
        .query({ dataset: 'Resource:default/Plays' })
        .set('Authorization', mockCredentials.service.header());
      expect(listed.status).toBe(200);
      expect(listed.body).toMatchObject({ totalCount: 1, items: [{ id }] });

      // Someone who does not own the dataset cannot approve it.
      const denied = await request(server)
        .post(`${API}/migrations/${id}/approve`)
        .set('Authorization', stranger)
        .send({});
      expect(denied.status).toBe(403);
      await waitForState(server, id, ['awaiting-approval'], 1);

      const approved = await request(server)
        .post(`${API}/migrations/${id}/approve`)
        .set('Authorization', owner)
        .send({ reason: 'looks right' });
      expect(approved.status).toBe(200);
      expect(['queued', 'running', 'succeeded']).toContain(approved.body.state);

      const again = await request(server)
        .post(`${API}/migrations/${id}/approve`)
        .set('Authorization', owner)
        .send({});
      expect(again.status).toBe(409);
      expect(again.body.error.name).toBe('ConflictError');
      expect(again.body.error.message).toMatch(/'(queued|running|succeeded)'/);

      const done = await waitForState(server, id, ['succeeded', 'failed']);
      expect(done).toMatchObject({
        state: 'succeeded',
        datasetOwner: 'user:default/mock',
        finishedAt: expect.any(String),
        cutoverAt: expect.any(String),
        progress: {
          totalItems: 4,
          doneItems: 4,
          failedItems: 0,
          // Each step that ran, with its own counts.
          steps: {
            copy: { totalItems: 4, doneItems: 4, failedItems: 0 },
            validate: { totalItems: 4, doneItems: 4, failedItems: 0 },
          },
        },
      });
      expect(done.progress.steps!.copy!.doneBytes).toBe(
        done.progress.totalBytes,
      );
      expect(Date.parse(done.finishedAt!)).toBeGreaterThanOrEqual(
        Date.parse(done.createdAt),
      );
      for (const [ref, count] of [
        ['user:default/mock', 1],
        ['User:default/Mock', 1],
        ['group:default/analytics', 0],
        ['analytics', 0],
      ] as const) {
        const byOwner = await request(server)
          .get(`${API}/migrations`)
          .query({ owner: ref, dataset: 'resource:default/plays' })
          .set('Authorization', owner);
        expect(byOwner.body.totalCount).toBe(count);
      }
      // Exactly the dataset: the originals the engine keeps for a rollback
      // live in the backup area outside the target.
      expect(await readTree(path.join(root.dir, 'out/plays'))).toEqual(SOURCE);
      // The source is never modified.
      expect(await readTree(path.join(root.dir, 'plays'))).toEqual(SOURCE);

      const report = await request(server)
        .get(`${API}/migrations/${id}/report`)
        .set('Authorization', owner);
      expect(report.status).toBe(200);
      expect(report.body).toMatchObject({
        migrationId: id,
        passed: true,
        objects: { checked: 4, mismatched: 0, missing: 0 },
        manifest: { matches: true },
        failures: [],
      });

      const events: MigrationEvent[] = (
        await request(server)
          .get(`${API}/migrations/${id}/events`)
          .set('Authorization', owner)
          .expect(200)
      ).body.items;
      const ids = events.map(e => e.id);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size).toBe(ids.length);
      expect(events.every(e => e.migrationId === id)).toBe(true);
      expect(events[0].actor).toBe('user:default/mock');
      expectSubsequence(
        transitions(events).map(t => t.to),
        ['queued', 'running', 'succeeded'],
      );
      expect(transitions(events).find(t => t.to === 'queued')?.actor).toBe(
        'user:default/mock',
      );

      const newer = await request(server)
        .get(`${API}/migrations/${id}/events`)
        .query({ after: ids[1], limit: 2 })
        .set('Authorization', owner);
      expect(newer.body.items.map((e: MigrationEvent) => e.id)).toEqual(
        ids.slice(2, 4),
      );

      const location = await request(server)
        .get(`${API}/datasets/location`)
        .query({ entityRef: 'resource:default/plays' })
        .set('Authorization', mockCredentials.service.header());
      expect(location.body).toEqual({
        entityRef: 'resource:default/plays',
        location: 'file://data/out/plays',
        format: 'csv',
        migratedBy: id,
      });

      const fleet = await request(server)
        .get(`${API}/fleet`)
        .set('Authorization', owner);
      expect(fleet.status).toBe(200);
      expect(fleet.body).toMatchObject({
        queueDepth: 0,
        inFlight: expect.any(Number),
        workers: [{ id: expect.any(String), state: 'active' }],
        migrations: { succeeded: 1 },
        throughput: {
          itemsPerMinute: expect.any(Number),
          bytesPerMinute: expect.any(Number),
        },
      });
      // Every copy attempt succeeded: those of the last minute, no error.
      expect(fleet.body.errors).toEqual({
        retried: 0,
        failed: 0,
        attempts: fleet.body.throughput.itemsPerMinute,
        rate: 0,
      });

      // Roll back: the target returns to exactly what it was.
      const rolling = await request(server)
        .post(`${API}/migrations/${id}/rollback`)
        .set('Authorization', owner)
        .send({ reason: 'consumers not ready' });
      expect(rolling.status).toBe(200);
      const rolledBack = await waitForState(server, id, ['rolled-back']);
      expect(rolledBack.state).toBe('rolled-back');
      expect(await readTree(path.join(root.dir, 'out/plays'))).toEqual(
        PRE_EXISTING,
      );
      expect(await readTree(path.join(root.dir, 'plays'))).toEqual(SOURCE);

      const reverted = await request(server)
        .get(`${API}/datasets/location`)
        .query({ entityRef: 'resource:default/plays' })
        .set('Authorization', owner);
      expect(reverted.body).toEqual({
        entityRef: 'resource:default/plays',
        location: 'file://data/plays',
        format: 'csv',
      });

      const allEvents: MigrationEvent[] = (
        await request(server)
          .get(`${API}/migrations/${id}/events`)
          .set('Authorization', owner)
      ).body.items;
      const rollbackTransitions = transitions(allEvents).slice(
        transitions(events).length,
      );
      expect(rollbackTransitions[0]).toEqual({
        to: 'rolling-back',
        actor: 'user:default/mock',
      });
      expect(rollbackTransitions.map(t => t.to).slice(-1)).toEqual([
        'rolled-back',
      ]);

      const twice = await request(server)
        .post(`${API}/migrations/${id}/rollback`)
        .set('Authorization', owner)
        .send({});
      expect(twice.status).toBe(409);
      expect(twice.body.error.message).toContain("'rolled-back'");
    });

    it('refuses to roll back a running migration, and cancels it', async () => {
      const { server } = backend;
      const created = await request(server)
        .post(`${API}/migrations`)
        .set('Authorization', owner)
        .send({
          dataset: 'api:default/landing-plays',
          target: { location: 'file://data/landing-copy' },
        });
      expect(created.status).toBe(201);
      expect(created.body.plan.consumers).toEqual([]);
      const { id } = created.body;

      memory.holdReads();
      const readsBefore = memory.readsStarted;
      await request(server)
        .post(`${API}/migrations/${id}/approve`)
        .set('Authorization', owner)
        .send({})
        .expect(200);
      await waitForState(server, id, ['running']);
      const deadline = Date.now() + 30_000;
      while (memory.readsStarted === readsBefore && Date.now() < deadline) {
        await new Promise(r => setTimeout(r, 50));
      }

      const rollback = await request(server)
        .post(`${API}/migrations/${id}/rollback`)
        .set('Authorization', owner)
        .send({});
      expect(rollback.status).toBe(409);
      expect(rollback.body.error.message).toContain("'running'");

      const retry = await request(server)
        .post(`${API}/migrations/${id}/retry`)
        .set('Authorization', owner)
        .send({});
      expect(retry.status).toBe(409);

      const deniedCancel = await request(server)
        .post(`${API}/migrations/${id}/cancel`)
        .set('Authorization', stranger)
        .send({});
      expect(deniedCancel.status).toBe(403);

      const cancelled = await request(server)
        .post(`${API}/migrations/${id}/cancel`)
        .set('Authorization', owner)
        .send({ reason: 'wrong target' });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.state).toBe('cancelled');
      memory.release();

      await request(server)
        .post(`${API}/migrations/${id}/rollback`)
        .set('Authorization', owner)
        .send({})
        .expect(200);
      await waitForState(server, id, ['rolled-back']);
      expect(await listFiles(path.join(root.dir, 'landing-copy'))).toEqual([]);
    });

    it('lets members of the owning group act, and nobody else', async () => {
      const { server } = backend;
      const carol = mockCredentials.user.header('user:default/carol');
      const body = {
        dataset: 'resource:default/sessions',
        target: { location: 'file://data/sessions-v2' },
      };
      const denied = await request(server)
        .post(`${API}/migrations`)
        .set('Authorization', owner)
        .send(body);
      expect(denied.status).toBe(403);

      const created = await request(server)
        .post(`${API}/migrations`)
        .set('Authorization', carol)
        .send(body);
      expect(created.status).toBe(201);
      expect(created.body.createdBy).toBe('user:default/carol');

      const notHers = await request(server)
        .post(`${API}/migrations/${created.body.id}/cancel`)
        .set('Authorization', owner)
        .send({});
      expect(notHers.status).toBe(403);
      const cancelled = await request(server)
        .post(`${API}/migrations/${created.body.id}/cancel`)
        .set('Authorization', carol)
        .send({ reason: 'not now' });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({
        state: 'cancelled',
        reason: 'not now',
      });
      expect(await listFiles(path.join(root.dir, 'sessions-v2'))).toEqual([]);
    });
  });
});

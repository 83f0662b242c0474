import {
  mockCredentials,
  mockServices,
  type TestDatabaseId,
  TestDatabases,
} from '@backstage/backend-test-utils';
import type { JsonObject } from '@backstage/config';
import path from 'node:path';
import request from 'supertest';
import { waitForState } from './__testUtils__/flow';
import {
  API,
  datasetEntity,
  makeTempRoot,
  startPluginBackend,
  writeFiles,
} from './__testUtils__/testBackend';

jest.setTimeout(120_000);

const owner = mockCredentials.user.header();
const BACKUPS_TASK = 'dataset-migration-purge-expired-backups';
const DATA_TASK = 'dataset-migration-purge-expired-data';

/** Backstage's test scheduler (its class is not exported, hence the cast). */
function testScheduler() {
  return mockServices.scheduler() as ReturnType<
    typeof mockServices.scheduler
  > & {
    factory(options?: {
      skipTaskRunOnStartup?: boolean;
    }): ReturnType<typeof mockServices.scheduler.factory>;
    triggerTask(id: string): Promise<void>;
  };
}

describe('data retention through the plugin', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });

  async function start(
    databaseId: TestDatabaseId,
    root: string,
    config: JsonObject,
  ) {
    const scheduler = testScheduler();
    const backend = await startPluginBackend({
      knex: await databases.init(databaseId),
      config: {
        autoApprove: true,
        storage: { local: { roots: [{ name: 'data', path: root }] } },
        ...config,
      },
      features: [scheduler.factory({ skipTaskRunOnStartup: true })],
      entities: [
        datasetEntity({ name: 'plays', location: 'file://data/plays' }),
      ],
    });
    return { backend, scheduler };
  }

  it.each(databases.eachSupportedId())(
    'purges the data of an expired migration in a global scheduled task, then keeps only its summary, on %p',
    async databaseId => {
      const root = await makeTempRoot();
      await writeFiles(path.join(root.dir, 'plays'), { 'a.csv': 'a,b\n1,2\n' });
      const { backend, scheduler } = await start(databaseId, root.dir, {
        backups: { retention: { milliseconds: 1 } },
        retention: { dataAge: { milliseconds: 1 } },
      });
      try {
        expect(await scheduler.getScheduledTasks()).toContainEqual(
          expect.objectContaining({ id: DATA_TASK, scope: 'global' }),
        );
        const created = await request(backend.server)
          .post(`${API}/migrations`)
          .set('Authorization', owner)
          .send({
            dataset: 'resource:default/plays',
            target: { location: 'file://data/out/plays' },
          });
        expect(created.status).toBe(201);
        const id = created.body.id;
        await waitForState(backend.server, id, ['succeeded']);
        const get = (what: string) =>
          request(backend.server)
            .get(`${API}/migrations/${id}${what}`)
            .set('Authorization', owner);
        expect((await get('/report')).status).toBe(200);

        await new Promise(r => setTimeout(r, 5));
        // The rollback window ends first; only then may the data go.
        await scheduler.triggerTask(DATA_TASK);
        expect((await get('')).body.dataPurgedAt).toBeUndefined();
        await scheduler.triggerTask(BACKUPS_TASK);
        await scheduler.triggerTask(DATA_TASK);

        const migration = await get('');
        expect(migration.status).toBe(200);
        expect(migration.body).toMatchObject({
          state: 'succeeded',
          dataPurgedAt: expect.any(String),
          progress: { totalItems: 1, doneItems: 1 },
          dataSummary: {
            objects: 1,
            itemStates: { done: 1 },
            report: { passed: true, manifestMatches: true, failures: 0 },
            events: { count: expect.any(Number) },
            dataAge: '1 ms',
          },
        });
        const purgedOn = migration.body.dataPurgedAt;

        const events = await get('/events');
        expect(events.status).toBe(200);
        expect(events.body).toEqual({ items: [] });

        const report = await get('/report');
        expect(report.status).toBe(404);
        expect(report.body.error).toMatchObject({
          name: 'NotFoundError',
          message: `The validation report of migration '${id}' was purged on ${purgedOn} after the retention of 1 ms (datasetMigration.retention.dataAge); its summary is in the migration's dataSummary`,
        });

        const rollback = await request(backend.server)
          .post(`${API}/migrations/${id}/rollback`)
          .set('Authorization', owner)
          .send({});
        expect(rollback.status).toBe(409);
        expect(rollback.body.error.message).toBe(
          `Cannot roll back migration '${id}': its work items, events and report were purged on ${purgedOn} after the retention of 1 ms (datasetMigration.retention.dataAge)`,
        );
        expect((await get('')).body.state).toBe('succeeded');
      } finally {
        await backend.stop();
        await root.cleanup();
      }
    },
  );

  it('schedules no data purge when retention is disabled', async () => {
    const root = await makeTempRoot();
    const { backend, scheduler } = await start('SQLITE_3', root.dir, {
      retention: { enabled: false },
    });
    try {
      const ids = (await scheduler.getScheduledTasks()).map(t => t.id);
      expect(ids).toContain(BACKUPS_TASK);
      expect(ids).not.toContain(DATA_TASK);
    } finally {
      await backend.stop();
      await root.cleanup();
    }
  });
});

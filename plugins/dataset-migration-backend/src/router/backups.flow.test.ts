import {
  mockCredentials,
  mockServices,
  TestDatabases,
} from '@backstage/backend-test-utils';
import fs from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { readTree, waitForState } from './__testUtils__/flow';
import {
  API,
  datasetEntity,
  makeTempRoot,
  startPluginBackend,
  writeFiles,
} from './__testUtils__/testBackend';

jest.setTimeout(120_000);

const owner = mockCredentials.user.header();
const TASK = 'dataset-migration-purge-expired-backups';

describe('backup retention through the plugin', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });

  it.each(databases.eachSupportedId())(
    'purges expired backups in a global scheduled task, then refuses rollback with 409, on %p',
    async databaseId => {
      const root = await makeTempRoot();
      // Backstage's test scheduler: runs a task when the test triggers it.
      // Its class is not exported, hence the cast to what it provides.
      const scheduler = mockServices.scheduler() as ReturnType<
        typeof mockServices.scheduler
      > & {
        factory(options?: {
          skipTaskRunOnStartup?: boolean;
        }): ReturnType<typeof mockServices.scheduler.factory>;
        triggerTask(id: string): Promise<void>;
      };
      await writeFiles(path.join(root.dir, 'plays'), { 'a.csv': 'new' });
      await writeFiles(path.join(root.dir, 'out/plays'), { 'a.csv': 'old' });
      const backend = await startPluginBackend({
        knex: await databases.init(databaseId),
        config: {
          autoApprove: true,
          storage: { local: { roots: [{ name: 'data', path: root.dir }] } },
          backups: { retention: { milliseconds: 1 } },
        },
        features: [scheduler.factory({ skipTaskRunOnStartup: true })],
        entities: [
          datasetEntity({ name: 'plays', location: 'file://data/plays' }),
        ],
      });
      try {
        expect(await scheduler.getScheduledTasks()).toContainEqual(
          expect.objectContaining({ id: TASK, scope: 'global' }),
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
        const area = path.join(root.dir, '.dataset-migration-backups', id);
        expect(await fs.readFile(path.join(area, 'a.csv'), 'utf8')).toBe('old');

        await new Promise(r => setTimeout(r, 5));
        await scheduler.triggerTask(TASK);

        await expect(fs.stat(area)).rejects.toThrow(/ENOENT/);
        const refused = await request(backend.server)
          .post(`${API}/migrations/${id}/rollback`)
          .set('Authorization', owner)
          .send({});
        expect(refused.status).toBe(409);
        expect(refused.body.error.message).toMatch(
          /backups of the 1 target object\(s\) it overwrote were purged/,
        );
        const after = await request(backend.server)
          .get(`${API}/migrations/${id}`)
          .set('Authorization', owner);
        expect(after.body.state).toBe('succeeded');
        expect(await readTree(path.join(root.dir, 'out/plays'))).toEqual({
          'a.csv': 'new',
        });
      } finally {
        await backend.stop();
        await root.cleanup();
      }
    },
  );
});

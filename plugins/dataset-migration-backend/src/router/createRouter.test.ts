import { createBackendModule } from '@backstage/backend-plugin-api';
import { mockCredentials, TestDatabases } from '@backstage/backend-test-utils';
import { datasetMigrationStorageExtensionPoint } from '@internal/backstage-plugin-dataset-migration-node';
import request from 'supertest';
import {
  API,
  datasetEntity,
  startPluginBackend,
} from './__testUtils__/testBackend';

jest.setTimeout(60_000);

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/** A storage module whose SDK fails with credentials in its message. */
const leakyStorage = createBackendModule({
  pluginId: 'dataset-migration',
  moduleId: 'test-leaky-storage',
  register(reg) {
    reg.registerInit({
      deps: { storage: datasetMigrationStorageExtensionPoint },
      async init({ storage }) {
        storage.addStorageBackend({
          id: 'leaky',
          schemes: ['s3'],
          async open(location) {
            throw new Error(
              `connect ECONNREFUSED https://AKIAIOSFODNN7EXAMPLE:${SECRET}@${location.bucket}.s3.internal:9000`,
            );
          },
        });
      },
    });
  },
});

describe('error responses', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

  it('never return what an unexpected error says, and write nothing', async () => {
    const knex = await databases.init('SQLITE_3');
    const backend = await startPluginBackend({
      knex,
      features: [leakyStorage],
      config: { storage: { local: { roots: [] } } },
      entities: [
        datasetEntity({ name: 'plays', location: 's3://landing/plays' }),
      ],
    });
    try {
      const res = await request(backend.server)
        .post(`${API}/migrations`)
        .set('Authorization', mockCredentials.user.header())
        .send({
          dataset: 'resource:default/plays',
          target: { location: 's3://warehouse/plays' },
        });
      expect(res.status).toBe(500);
      expect(res.body.error.message).toMatch(/see its logs/);
      expect(JSON.stringify(res.body)).not.toContain(SECRET);
      expect(JSON.stringify(res.body)).not.toContain('AKIAIOSFODNN7EXAMPLE');

      const [{ count }] = await knex('dm_migrations').count({ count: '*' });
      expect(Number(count)).toBe(0);
    } finally {
      await backend.stop();
    }
  });

  it('answer 404 with JSON for unknown routes of the plugin', async () => {
    const backend = await startPluginBackend({
      knex: await databases.init('SQLITE_3'),
      entities: [],
    });
    try {
      const res = await request(backend.server)
        .get(`${API}/no-such-route`)
        .set('Authorization', mockCredentials.user.header());
      expect(res.status).toBe(404);
    } finally {
      await backend.stop();
    }
  });
});

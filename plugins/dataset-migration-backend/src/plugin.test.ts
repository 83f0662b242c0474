import { mockCredentials, TestDatabases } from '@backstage/backend-test-utils';
import { datasetMigrationPermissions } from '@internal/backstage-plugin-dataset-migration-common';
import request from 'supertest';
import { API, startPluginBackend } from './router/__testUtils__/testBackend';

jest.setTimeout(60_000);

describe('datasetMigrationPlugin', () => {
  const databases = TestDatabases.create({
    ids: ['POSTGRES_16', 'SQLITE_3'],
  });

  describe.each(databases.eachSupportedId())('on %p', databaseId => {
    it('runs its database migrations and answers an authenticated GET /health', async () => {
      const knex = await databases.init(databaseId);
      const backend = await startPluginBackend({ knex, entities: [] });
      try {
        await request(backend.server)
          .get(`${API}/health`)
          .set('Authorization', mockCredentials.user.header())
          .expect(200, { status: 'ok' });
        await request(backend.server)
          .get(`${API}/health`)
          .set('Authorization', mockCredentials.service.header())
          .expect(200, { status: 'ok' });

        // The engine's knex migrations ran on this very database.
        expect(await knex.schema.hasTable('dm_migrations')).toBe(true);
        const [{ count }] = await knex('dm_migrations').count({ count: '*' });
        expect(Number(count)).toBe(0);
      } finally {
        await backend.stop();
      }
    });

    it('refuses unauthenticated requests on every route', async () => {
      const knex = await databases.init(databaseId);
      const backend = await startPluginBackend({ knex, entities: [] });
      try {
        const none = mockCredentials.none.header();
        for (const [method, path] of [
          ['get', '/health'],
          ['get', '/migrations'],
          ['get', '/migrations/abc'],
          ['get', '/migrations/abc/events'],
          ['get', '/migrations/abc/report'],
          ['get', '/fleet'],
          ['get', '/datasets/location?entityRef=resource:default/x'],
          ['post', '/migrations'],
          ['post', '/migrations/abc/approve'],
          ['post', '/migrations/abc/cancel'],
          ['post', '/migrations/abc/rollback'],
          ['post', '/migrations/abc/retry'],
        ] as const) {
          const res = await request(backend.server)
            [method](`${API}${path}`)
            .set('Authorization', none)
            .send(method === 'post' ? {} : undefined);
          expect([`${method} ${path}`, res.status]).toEqual([
            `${method} ${path}`,
            401,
          ]);
          expect(res.body.error.name).toBe('AuthenticationError');
        }
        const invalid = await request(backend.server)
          .get(`${API}/health`)
          .set('Authorization', mockCredentials.user.invalidHeader());
        expect(invalid.status).toBe(401);
      } finally {
        await backend.stop();
      }
    });
  });

  it('lets services read but not mutate', async () => {
    const knex = await databases.init('SQLITE_3');
    const backend = await startPluginBackend({ knex, entities: [] });
    try {
      const service = mockCredentials.service.header();
      await request(backend.server)
        .get(`${API}/fleet`)
        .set('Authorization', service)
        .expect(200);
      const res = await request(backend.server)
        .post(`${API}/migrations`)
        .set('Authorization', service)
        .send({
          dataset: 'resource:default/plays',
          target: { location: 's3://bucket/plays' },
        });
      expect(res.status).toBe(403);
      expect(res.body.error.name).toBe('NotAllowedError');

      // The scaffolder acts on behalf of its user: that is a user request.
      const onBehalf = await request(backend.server)
        .post(`${API}/migrations/no-such-id/approve`)
        .set(
          'Authorization',
          mockCredentials.service.header({
            onBehalfOf: mockCredentials.user('user:default/alice'),
            targetPluginId: 'dataset-migration',
          }),
        )
        .send({});
      expect(onBehalf.status).toBe(404);
    } finally {
      await backend.stop();
    }
  });

  it('registers its permissions with the permission framework', async () => {
    const knex = await databases.init('SQLITE_3');
    const backend = await startPluginBackend({ knex, entities: [] });
    try {
      const res = await request(backend.server)
        .get(`${API}/.well-known/backstage/permissions/metadata`)
        .set('Authorization', mockCredentials.service.header());
      expect(res.status).toBe(200);
      expect(res.body.permissions.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(datasetMigrationPermissions.map(p => p.name)),
      );
    } finally {
      await backend.stop();
    }
  });

  it('answers 503 without driver details when the database is gone', async () => {
    const knex = await databases.init('SQLITE_3');
    const backend = await startPluginBackend({
      knex,
      entities: [],
      config: { workers: { enabled: false } },
    });
    try {
      await knex.destroy();
      const res = await request(backend.server)
        .get(`${API}/health`)
        .set('Authorization', mockCredentials.user.header());
      expect(res.status).toBe(503);
      expect(res.body.error).toMatchObject({
        name: 'ServiceUnavailableError',
        message: 'The database does not answer',
      });
    } finally {
      await backend.stop();
    }
  });
});

import {
  mockCredentials,
  TestDatabases,
  type TestBackend,
} from '@backstage/backend-test-utils';
import request from 'supertest';
import {
  API,
  datasetEntity,
  startPluginBackend,
} from './__testUtils__/testBackend';

jest.setTimeout(60_000);

describe('read routes refuse bad queries', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
  let backend: TestBackend;

  beforeAll(async () => {
    backend = await startPluginBackend({
      knex: await databases.init('SQLITE_3'),
      entities: [
        datasetEntity({ name: 'plays', location: 's3://bucket/plays' }),
      ],
    });
  });

  afterAll(async () => {
    await backend?.stop();
  });

  it.each([
    ['/migrations?limit=-1', 400, /limit: /],
    ['/migrations?limit=100000', 400, /limit: /],
    ['/migrations?offset=abc', 400, /offset: /],
    ['/migrations?state=exploded', 400, /state: /],
    ['/migrations?state=running&state=queued', 400, /state: /],
    ['/migrations?dataset=nope', 400, /dataset: /],
    ['/migrations?sort=desc', 400, /sort/],
    ['/migrations/abc/events?after=-5', 400, /after: /],
    ['/migrations/abc/events?limit=1000000', 400, /limit: /],
    ['/migrations/no-such-id', 404, /Migration 'no-such-id' was not found/],
    ['/migrations/no-such-id/events', 404, /was not found/],
    ['/migrations/no-such-id/report', 404, /was not found/],
    ['/migrations/%2e%2e%2fetc', 404, /was not found/],
    ['/datasets/location', 400, /entityRef: /],
    ['/datasets/location?entityRef=resource:default/nope', 404, /not found/],
  ])('GET %s → %d', async (url, status, message) => {
    const res = await request(backend.server)
      .get(`${API}${url}`)
      .set('Authorization', mockCredentials.user.header());
    expect({ status: res.status, message: res.body.error?.message }).toEqual({
      status,
      message: expect.stringMatching(message),
    });
  });

  it.each(['approve', 'cancel', 'rollback', 'retry'])(
    'POST /migrations/:id/%s refuses unknown fields and unknown ids',
    async action => {
      const bad = await request(backend.server)
        .post(`${API}/migrations/no-such-id/${action}`)
        .set('Authorization', mockCredentials.user.header())
        .send({ reason: 'x', force: true });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/force/);

      const missing = await request(backend.server)
        .post(`${API}/migrations/no-such-id/${action}`)
        .set('Authorization', mockCredentials.user.header())
        .send({ reason: 'x' });
      expect(missing.status).toBe(404);
    },
  );

  it('answers the annotation location for a dataset never migrated', async () => {
    const res = await request(backend.server)
      .get(`${API}/datasets/location`)
      .query({ entityRef: 'resource:default/plays' })
      .set('Authorization', mockCredentials.service.header());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      entityRef: 'resource:default/plays',
      location: 's3://bucket/plays',
    });
  });
});

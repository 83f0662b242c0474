import {
  mockCredentials,
  TestDatabases,
  type TestBackend,
} from '@backstage/backend-test-utils';
import type { Knex } from 'knex';
import path from 'node:path';
import request from 'supertest';
import {
  API,
  datasetEntity,
  makeTempRoot,
  startPluginBackend,
  writeFiles,
} from './__testUtils__/testBackend';

jest.setTimeout(60_000);

const owner = mockCredentials.user.header();
const body = JSON.stringify({
  dataset: 'resource:default/plays',
  target: { location: 'file://data/archive' },
});

/*
 * A JSON route sent a body of another content type answers 415 naming it,
 * instead of parsing nothing and reporting every field as missing.
 */
describe('request bodies that are not JSON', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
  let knex: Knex;
  let backend: TestBackend;
  let root: { dir: string; cleanup(): Promise<void> };

  beforeAll(async () => {
    root = await makeTempRoot();
    await writeFiles(path.join(root.dir, 'plays'), { 'a.csv': 'u,t\n' });
    knex = await databases.init('SQLITE_3');
    backend = await startPluginBackend({
      knex,
      config: {
        storage: { local: { roots: [{ name: 'data', path: root.dir }] } },
      },
      entities: [
        datasetEntity({ name: 'plays', location: 'file://data/plays' }),
      ],
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await root?.cleanup();
  });

  async function migrationRows() {
    const [{ count }] = await knex('dm_migrations').count({ count: '*' });
    return Number(count);
  }

  it.each([
    ['text/plain', 'text/plain'],
    ['text/plain; charset=utf-8', 'text/plain'],
    ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'],
    ['application/xml', 'application/xml'],
  ])('answers 415 for %s and writes nothing', async (contentType, named) => {
    const res = await request(backend.server)
      .post(`${API}/migrations`)
      .set('Authorization', owner)
      .set('Content-Type', contentType)
      .send(body);
    expect(res.status).toBe(415);
    expect(res.body.error.message).toBe(
      `Unsupported content type '${named}': send the request body as application/json`,
    );
    expect(res.body.error.message).not.toMatch(/received undefined/);
    expect(await migrationRows()).toBe(0);
  });

  it('answers 415 for a body without a content type', async () => {
    const res = await request(backend.server)
      .post(`${API}/migrations`)
      .set('Authorization', owner)
      .set('Content-Type', '')
      .send(Buffer.from(body));
    expect(res.status).toBe(415);
    expect(res.body.error.message).toMatch(/no content type/);
    expect(await migrationRows()).toBe(0);
  });

  it('answers 415 on the action routes too', async () => {
    const res = await request(backend.server)
      .post(`${API}/migrations/some-id/approve`)
      .set('Authorization', owner)
      .set('Content-Type', 'text/plain')
      .send('{"reason":"because"}');
    expect(res.status).toBe(415);
    expect(res.body.error.message).toContain("'text/plain'");
  });

  it('still takes JSON (with a charset, or a +json type) and empty bodies', async () => {
    const created = await request(backend.server)
      .post(`${API}/migrations`)
      .set('Authorization', owner)
      .set('Content-Type', 'application/json; charset=utf-8')
      .send(body);
    expect(created.status).toBe(201);
    const id = created.body.id;

    const cancelled = await request(backend.server)
      .post(`${API}/migrations/${id}/cancel`)
      .set('Authorization', owner)
      .set('Content-Type', 'application/merge-patch+json')
      .send('{"reason":"not now"}');
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');

    // No body at all (no Content-Type) is not a media type problem.
    const again = await request(backend.server)
      .post(`${API}/migrations/${id}/cancel`)
      .set('Authorization', owner);
    expect(again.status).toBe(409);
  });
});

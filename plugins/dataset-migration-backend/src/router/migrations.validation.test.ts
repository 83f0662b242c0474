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
  consumerEntity,
  datasetEntity,
  listFiles,
  makeTempRoot,
  ownerOnlyPermissions,
  type RecordedDecision,
  startPluginBackend,
  writeFiles,
} from './__testUtils__/testBackend';

jest.setTimeout(60_000);

/*
 * Bad requests must be refused with a message that says what is wrong, and
 * must leave no trace: no migration row, no event, no file in any target.
 */
describe('POST /migrations refuses bad input', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
  let knex: Knex;
  let backend: TestBackend;
  let root: { dir: string; cleanup(): Promise<void> };
  let outside: { dir: string; cleanup(): Promise<void> };
  const decisions: RecordedDecision[] = [];

  beforeAll(async () => {
    root = await makeTempRoot();
    outside = await makeTempRoot('dm-outside-');
    await writeFiles(path.join(root.dir, 'plays'), {
      'date=2026-11-01/part-0.csv': 'user,track\nu1,t1\n',
      'date=2026-11-02/part-0.csv': 'user,track\nu2,t2\n',
    });
    knex = await databases.init('SQLITE_3');
    backend = await startPluginBackend({
      knex,
      config: {
        storage: { local: { roots: [{ name: 'data', path: root.dir }] } },
      },
      permissions: ownerOnlyPermissions({
        groups: { 'user:default/carol': ['group:default/analytics'] },
        decisions,
      }),
      entities: [
        datasetEntity({
          name: 'plays',
          location: 'file://data/plays',
          format: 'csv',
          consumers: ['component:default/charts'],
        }),
        consumerEntity('charts', 'resource:default/plays'),
        datasetEntity({ name: 'no-annotation' }),
        datasetEntity({ name: 'ftp-data', location: 'ftp://host/data' }),
        datasetEntity({
          name: 'odd-format',
          location: 'file://data/plays',
          format: 'xlsx',
        }),
        datasetEntity({
          name: 'team-data',
          location: 'file://data/plays',
          owner: 'group:default/analytics',
        }),
      ],
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await root?.cleanup();
    await outside?.cleanup();
  });

  beforeEach(() => {
    decisions.length = 0;
  });

  async function expectNoTrace() {
    const [{ count }] = await knex('dm_migrations').count({ count: '*' });
    expect(Number(count)).toBe(0);
    const [{ count: events }] = await knex('dm_events').count({ count: '*' });
    expect(Number(events)).toBe(0);
    expect(await listFiles(root.dir)).toEqual([
      'plays/date=2026-11-01/part-0.csv',
      'plays/date=2026-11-02/part-0.csv',
    ]);
    expect(await listFiles(outside.dir)).toEqual([]);
    const list = await request(backend.server)
      .get(`${API}/migrations`)
      .set('Authorization', mockCredentials.user.header());
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ items: [], totalCount: 0 });
  }

  const valid = {
    dataset: 'resource:default/plays',
    target: { location: 'file://data/plays-copy' },
  };

  it.each<[string, unknown, number, RegExp]>([
    ['an unknown field', { ...valid, priority: 'high' }, 400, /priority/],
    [
      'an unknown nested field',
      { ...valid, target: { ...valid.target, region: 'eu' } },
      400,
      /target: .*region/,
    ],
    [
      'a malformed URI',
      { ...valid, target: { location: 'not a uri' } },
      400,
      /target\.location: location 'not a uri' is not a URI/,
    ],
    [
      'an unsupported scheme',
      { ...valid, target: { location: 'ftp://host/data' } },
      400,
      /target\.location: location scheme 'ftp' is not supported/,
    ],
    [
      "a '../' path in a named root",
      { ...valid, target: { location: 'file://data/../etc' } },
      400,
      /target\.location: .*'\.\.'/,
    ],
    [
      "a percent-encoded '../' in a bucket prefix",
      { ...valid, target: { location: 's3://bucket/a/%2e%2e/%2e%2e/b' } },
      400,
      /target\.location: .*'\.\.'/,
    ],
    [
      'an unsupported strategy',
      { ...valid, strategy: 'teleport' },
      400,
      /strategy: /,
    ],
    [
      'schema-transform without a mapping',
      { ...valid, strategy: 'schema-transform' },
      400,
      /needs a mapping: give one in the request, or in the 'dataset-migration\.io\/mapping' annotation of resource:default\/plays/,
    ],
    [
      'schema-transform with a mapping that does not fit the data',
      {
        ...valid,
        strategy: 'schema-transform',
        mapping: {
          fields: [{ from: 'amount', to: 'amt', cast: 'decimal(12,2)' }],
          keys: ['id'],
        },
      },
      400,
      /mapping does not fit the source schema \(read from 'date=2026-11-01\/part-0\.csv'\): fields: column 'amount' is not in the source \(columns: 'user', 'track'\).*; keys: column 'id' is not in the source/,
    ],
    [
      'schema-transform with an invalid mapping',
      {
        ...valid,
        strategy: 'schema-transform',
        mapping: { fields: [{ from: 'user', to: 'user_id', cast: 'money' }] },
      },
      400,
      /mapping\.fields\.0\.cast: /,
    ],
    [
      'a negative concurrency',
      { ...valid, options: { concurrency: -1 } },
      400,
      /options\.concurrency: /,
    ],
    [
      'a huge concurrency',
      { ...valid, options: { concurrency: 1e12 } },
      400,
      /options\.concurrency: /,
    ],
    [
      'a fractional concurrency',
      { ...valid, options: { concurrency: 1.5 } },
      400,
      /options\.concurrency: /,
    ],
    [
      'an unknown verify mode',
      { ...valid, options: { verify: 'sometimes' } },
      400,
      /options\.verify: /,
    ],
    [
      "verify 'none' while datasetMigration.validation.allowVerifyNone is off",
      { ...valid, options: { verify: 'none' } },
      400,
      /options\.verify 'none' would only compare sizes and is not allowed on this backend; set datasetMigration\.validation\.allowVerifyNone/,
    ],
    [
      "schema-transform with verify 'checksum'",
      {
        ...valid,
        strategy: 'schema-transform',
        mapping: { fields: [{ from: 'user', to: 'user_id' }] },
        options: { verify: 'checksum' },
      },
      400,
      /options\.verify 'checksum' cannot be used with the schema-transform strategy: transformed objects differ from the source byte for byte/,
    ],
    ['a missing target', { dataset: valid.dataset }, 400, /target: /],
    [
      'a dataset that is not an entity ref',
      { ...valid, dataset: '../../etc/passwd' },
      400,
      /dataset: must be an entity ref/,
    ],
    ['a JSON array body', [valid], 400, /Invalid migration request/],
    [
      'an unknown dataset',
      { ...valid, dataset: 'resource:default/nope' },
      404,
      /Dataset entity 'resource:default\/nope' was not found/,
    ],
    [
      'a dataset without the location annotation',
      { ...valid, dataset: 'resource:default/no-annotation' },
      400,
      /'resource:default\/no-annotation' is not a dataset: it has no 'dataset-migration.io\/location' annotation/,
    ],
    [
      'a dataset with an invalid location annotation',
      { ...valid, dataset: 'resource:default/ftp-data' },
      400,
      /invalid 'dataset-migration.io\/location' annotation: location scheme 'ftp'/,
    ],
    [
      'a dataset with an unknown format annotation',
      { ...valid, dataset: 'resource:default/odd-format' },
      400,
      /invalid 'dataset-migration.io\/format' annotation 'xlsx'/,
    ],
    [
      'a target equal to the source',
      { ...valid, target: { location: 'file://data/plays/' } },
      400,
      /is the dataset's current location/,
    ],
    [
      'a target inside the source',
      { ...valid, target: { location: 'file://data/plays/copy' } },
      400,
      /overlaps the dataset's current location 'file:\/\/data\/plays'/,
    ],
    [
      'a target that contains the source',
      { ...valid, target: { location: 'file://data' } },
      400,
      /overlaps the dataset's current location/,
    ],
  ])('refuses %s', async (_what, body, status, message) => {
    const res = await request(backend.server)
      .post(`${API}/migrations`)
      .set('Authorization', mockCredentials.user.header())
      .send(body as object);
    expect({ status: res.status, message: res.body.error?.message }).toEqual({
      status,
      message: expect.stringMatching(message),
    });
    await expectNoTrace();
  });

  it('lists every problem of a request at once', async () => {
    const res = await request(backend.server)
      .post(`${API}/migrations`)
      .set('Authorization', mockCredentials.user.header())
      .send({
        dataset: 'nope',
        target: { location: 'file://data/../x' },
        strategy: 'teleport',
        extra: true,
      });
    expect(res.status).toBe(400);
    const message: string = res.body.error.message;
    for (const part of [
      'dataset: ',
      'target.location: ',
      'strategy: ',
      'extra',
    ]) {
      expect(message).toContain(part);
    }
    await expectNoTrace();
  });

  it('refuses a body that is not JSON', async () => {
    const res = await request(backend.server)
      .post(`${API}/migrations`)
      .set('Authorization', mockCredentials.user.header())
      .set('Content-Type', 'application/json')
      .send('{"dataset": ');
    expect(res.status).toBe(400);
    await expectNoTrace();
  });

  it('refuses the same folder named through its absolute path', async () => {
    const res = await request(backend.server)
      .post(`${API}/migrations`)
      .set('Authorization', mockCredentials.user.header())
      .send({
        ...valid,
        target: { location: `file://${path.join(root.dir, 'plays')}` },
      });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/is the dataset's current location/);
    await expectNoTrace();
  });

  it.each([
    [
      'an unknown named local root',
      () => 'file://elsewhere/plays',
      /'elsewhere'/,
    ],
    [
      'a scheme no storage backend serves',
      () => 'gs://some-bucket/plays',
      /gs/,
    ],
  ])('refuses %s', async (_what, target, message) => {
    const res = await request(backend.server)
      .post(`${API}/migrations`)
      .set('Authorization', mockCredentials.user.header())
      .send({ ...valid, target: { location: target() } });
    expect(res.status).toBe(400);
    expect(res.body.error.name).toBe('InputError');
    expect(res.body.error.message).toMatch(message);
    await expectNoTrace();
  });

  it('refuses a local target outside the configured roots', async () => {
    const res = await request(backend.server)
      .post(`${API}/migrations`)
      .set('Authorization', mockCredentials.user.header())
      .send({ ...valid, target: { location: `file://${outside.dir}/plays` } });
    // The local backend answers NotAllowedError (403) here, where the -node
    // StorageBackend contract says InputError (400); either is a refusal the
    // caller can act on, as long as it names the roots that are allowed and
    // not the server's paths.
    expect([400, 403]).toContain(res.status);
    expect(res.body.error.message).toMatch(/outside the allowed local roots/);
    expect(res.body.error.message).toContain('data');
    expect(res.body.error.message).not.toContain(root.dir);
    await expectNoTrace();
  });

  it('refuses a user who does not own the dataset, and writes nothing', async () => {
    const res = await request(backend.server)
      .post(`${API}/migrations`)
      .set('Authorization', mockCredentials.user.header('user:default/bob'))
      .send(valid);
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({
      name: 'NotAllowedError',
      message: expect.stringContaining('resource:default/plays'),
    });
    expect(decisions).toEqual([
      {
        permission: 'dataset-migration.migration.create',
        resourceRef: 'resource:default/plays',
        principal: 'user:default/bob',
        result: 'DENY',
      },
    ]);
    await expectNoTrace();
  });

  it('checks the permission against the canonical dataset ref', async () => {
    const res = await request(backend.server)
      .post(`${API}/migrations`)
      .set('Authorization', mockCredentials.user.header('user:default/bob'))
      .send({ ...valid, dataset: 'Resource:Default/Team-Data' });
    expect(res.status).toBe(403);
    expect(decisions.map(d => d.resourceRef)).toEqual([
      'resource:default/team-data',
    ]);
    await expectNoTrace();
  });
});

import {
  mockCredentials,
  TestDatabases,
  type TestBackend,
} from '@backstage/backend-test-utils';
import type {
  Migration,
  ValidationReport,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { connect, openDuckDb } from '../transform/transformFile';
import { readTree, waitForState } from './__testUtils__/flow';
import {
  API,
  datasetEntity,
  listFiles,
  makeTempRoot,
  startPluginBackend,
  writeFiles,
} from './__testUtils__/testBackend';

jest.setTimeout(180_000);

const owner = mockCredentials.user.header();

// A BOM, quoted commas, quotes and a newline, unicode, null vs empty, an
// int64 beyond 2^53, instants with offsets and µs, decimals.
const ORDERS = {
  '2026/01.csv':
    '\uFEFFid,amount,created,note,ip\n' +
    '9007199254740993,12.30,2026-01-02T03:04:05.123456+02:00,"hello, ""world""\nline 2",1.2.3.4\n' +
    '2,0.10,2026-01-02T00:00:00Z,,5.6.7.8\n' +
    '3,7.5,2026-06-30T23:59:59-07:00,"",9.9.9.9\n' +
    '4,99.99,2026-01-01T00:00:00Z,héllo 🎉,1.1.1.1\n',
  '2026/02.csv':
    'id,amount,created,note,ip\n' +
    '5,1.005,2026-02-01T12:00:00+05:30,plain,2.2.2.2\n' +
    '6,100,2026-02-02T00:00:00Z,x,3.3.3.3\n',
  _SUCCESS: '',
};
const ORDERS_MAPPING = {
  format: 'parquet',
  fields: [
    { from: 'id', to: 'order_id', cast: 'bigint' },
    { from: 'amount', to: 'amount', cast: 'decimal(12,2)' },
    { from: 'created', to: 'created_at', cast: 'timestamp' },
  ],
  drop: ['ip'],
  filter: [{ column: 'amount', op: 'ge', value: 1 }],
  keys: ['id'],
};
// Exists in the target before: overwritten by the transform, then restored.
const PRE_EXISTING = { '2026/01.parquet': 'not really parquet' };

// The mapping lives with the dataset entity, as YAML text in its annotation.
const EVENTS_MAPPING_YAML = `
format: csv
fields:
  - { from: n, to: count, cast: integer }
  - { from: ts, to: at, cast: timestamp }
keys: [id]
badRows: quarantine
`;
const EVENTS = {
  'day=1.ndjson':
    '{"id": 1, "n": "5", "ts": "2026-01-02T03:04:05Z"}\n' +
    '{"id": 2, "n": "five", "ts": "2026-01-02T03:04:06Z"}\n' +
    '{"id": 3, "n": null, "ts": "2026-01-02T03:04:07+01:00"}\n',
};

describe('schema-transform migrations through the REST API', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });
  let db: DuckDBInstance;
  let conn: DuckDBConnection;

  beforeAll(async () => {
    db = await openDuckDb({ threads: 1, memoryLimit: '128MB' });
    conn = await connect(db);
  });
  afterAll(() => {
    conn.closeSync();
    db.closeSync();
  });

  async function rows(file: string, order = 'order_id') {
    const reader = await conn.runAndReadAll(
      `SELECT * FROM read_parquet('${file}') ORDER BY ${order}`,
    );
    return reader.getRowObjectsJson();
  }

  describe.each(databases.eachSupportedId())('on %p', databaseId => {
    let backend: TestBackend;
    let root: { dir: string; cleanup(): Promise<void> };

    beforeAll(async () => {
      root = await makeTempRoot('dm-transform-');
      await writeFiles(path.join(root.dir, 'orders'), ORDERS);
      await writeFiles(path.join(root.dir, 'out/orders'), PRE_EXISTING);
      await writeFiles(path.join(root.dir, 'events'), EVENTS);
      await writeFiles(path.join(root.dir, 'strict'), {
        'a.csv': 'id,amount\n1,2.5\n2,two\n',
      });
      backend = await startPluginBackend({
        knex: await databases.init(databaseId),
        config: {
          storage: { local: { roots: [{ name: 'data', path: root.dir }] } },
          transform: { spillDirectory: path.join(root.dir, '.spill') },
        },
        entities: [
          datasetEntity({
            name: 'orders',
            location: 'file://data/orders',
            format: 'csv',
          }),
          datasetEntity({
            name: 'events',
            location: 'file://data/events',
            format: 'ndjson',
            annotations: {
              'dataset-migration.io/mapping': EVENTS_MAPPING_YAML,
            },
          }),
          datasetEntity({
            name: 'strict',
            location: 'file://data/strict',
            format: 'csv',
          }),
        ],
      });
    });

    afterAll(async () => {
      await backend?.stop();
      await root?.cleanup();
    });

    async function create(body: object): Promise<Migration> {
      const res = await request(backend.server)
        .post(`${API}/migrations`)
        .set('Authorization', owner)
        .send(body);
      expect({ status: res.status, error: res.body.error?.message }).toEqual({
        status: 201,
      });
      return res.body;
    }

    async function approve(id: string) {
      await request(backend.server)
        .post(`${API}/migrations/${id}/approve`)
        .set('Authorization', owner)
        .send({})
        .expect(200);
    }

    async function report(id: string): Promise<ValidationReport> {
      const res = await request(backend.server)
        .get(`${API}/migrations/${id}/report`)
        .set('Authorization', owner);
      expect(res.status).toBe(200);
      return res.body;
    }

    it('CSV → Parquet: plans the schemas, transforms, validates in layers, rolls back', async () => {
      const out = path.join(root.dir, 'out/orders');
      const planned = await create({
        dataset: 'resource:default/orders',
        target: { location: 'file://data/out/orders' },
        strategy: 'schema-transform',
        mapping: ORDERS_MAPPING,
      });
      expect(planned).toMatchObject({
        state: 'awaiting-approval',
        strategy: 'schema-transform',
        target: { format: 'parquet' },
        plan: {
          source: { objectCount: 3 },
          overwrites: { count: 1, sample: ['2026/01.parquet'] },
          transform: {
            mappingSource: 'request',
            mappingHash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
            sourceFormat: 'csv',
            targetFormat: 'parquet',
            schemaFrom: 'object 2026/01.csv',
            objects: { transformed: 2, copied: 1 },
            sourceSchema: ['id', 'amount', 'created', 'note', 'ip'].map(
              name => ({ name, type: 'VARCHAR' }),
            ),
            targetSchema: [
              { name: 'order_id', type: 'BIGINT' },
              { name: 'amount', type: 'DECIMAL(12,2)' },
              { name: 'created_at', type: 'TIMESTAMP WITH TIME ZONE' },
              { name: 'note', type: 'VARCHAR' },
            ],
          },
        },
      });
      expect(planned.plan!.transform!.columns.map(c => c.change)).toEqual([
        'rename+cast',
        'cast',
        'rename+cast',
        'keep',
        'drop',
      ]);
      expect(planned.plan!.warnings.join(' ')).toMatch(
        /1 object\(s\) are not csv and will be copied as they are/,
      );
      // Planning wrote nothing, and left no spill file behind.
      expect(await readTree(out)).toEqual(PRE_EXISTING);
      expect(await listFiles(path.join(root.dir, '.spill'))).toEqual([]);

      await approve(planned.id);
      const done = await waitForState(backend.server, planned.id, [
        'succeeded',
        'failed',
        'rolled-back',
      ]);
      expect(done.state).toBe('succeeded');
      expect(await listFiles(out)).toEqual([
        '2026/01.parquet',
        '2026/02.parquet',
        '_SUCCESS',
      ]);
      expect(await rows(path.join(out, '2026/01.parquet'))).toEqual([
        // row 2 (amount 0.10) is filtered out
        {
          order_id: '3',
          amount: '7.50',
          created_at: '2026-07-01 06:59:59+00',
          note: '',
        },
        {
          order_id: '4',
          amount: '99.99',
          created_at: '2026-01-01 00:00:00+00',
          note: 'héllo 🎉',
        },
        {
          order_id: '9007199254740993',
          amount: '12.30',
          created_at: '2026-01-02 01:04:05.123456+00',
          note: 'hello, "world"\nline 2',
        },
      ]);
      expect(await rows(path.join(out, '2026/02.parquet'))).toEqual([
        {
          order_id: '5',
          amount: '1.01',
          created_at: '2026-02-01 06:30:00+00',
          note: 'plain',
        },
        {
          order_id: '6',
          amount: '100.00',
          created_at: '2026-02-02 00:00:00+00',
          note: 'x',
        },
      ]);
      // A null stays null in Parquet; the empty string stays empty.
      const nulls = await conn.runAndReadAll(
        `SELECT count(*) FILTER (WHERE note IS NULL), count(*) FILTER (WHERE note = '') FROM read_parquet('${path.join(
          out,
          '2026/*.parquet',
        )}')`,
      );
      expect(nulls.getRows()[0].map(Number)).toEqual([0, 1]);

      const validated = await report(planned.id);
      expect(validated).toMatchObject({
        passed: true,
        objects: { checked: 3, mismatched: 0, missing: 0 },
        manifest: { matches: true },
        // _SUCCESS is copied as it is (server-side by the local backend).
        methods: { transform: 2, 'reread-sha256': 1 },
        transform: {
          mappingHash: planned.plan!.transform!.mappingHash,
          rows: {
            source: 6,
            filtered: 1,
            bad: 0,
            quarantined: 0,
            expected: 5,
            target: 5,
            matches: true,
          },
          sample: { perObject: 20, compared: 5, mismatched: 0, matches: true },
          schema: { matches: true, mismatchedObjects: 0 },
          copiedObjects: 1,
          badRows: [],
        },
      });
      expect(validated.transform!.methods.join('\n')).toMatch(
        /smallest hash of the key \(id\)/,
      );
      expect(await listFiles(path.join(root.dir, '.spill'))).toEqual([]);

      // After the cutover the dataset is Parquet at the target; a rollback
      // brings back the CSV.
      const where = async () =>
        (
          await request(backend.server)
            .get(`${API}/datasets/location`)
            .query({ entityRef: 'resource:default/orders' })
            .set('Authorization', owner)
        ).body;
      expect(await where()).toEqual({
        entityRef: 'resource:default/orders',
        location: 'file://data/out/orders',
        format: 'parquet',
        migratedBy: planned.id,
      });

      await request(backend.server)
        .post(`${API}/migrations/${planned.id}/rollback`)
        .set('Authorization', owner)
        .send({ reason: 'test' })
        .expect(200);
      await waitForState(backend.server, planned.id, ['rolled-back']);
      expect(await readTree(out)).toEqual(PRE_EXISTING);
      expect(await where()).toEqual({
        entityRef: 'resource:default/orders',
        location: 'file://data/orders',
        format: 'csv',
      });
    });

    it("NDJSON → CSV with the entity's mapping: bad rows quarantined outside the target", async () => {
      const planned = await create({
        dataset: 'resource:default/events',
        target: { location: 'file://data/out/events' },
        strategy: 'schema-transform',
      });
      expect(planned.plan!.transform).toMatchObject({
        mappingSource: 'entity',
        targetFormat: 'csv',
        mapping: { badRows: 'quarantine', keys: ['id'] },
      });
      await approve(planned.id);
      const done = await waitForState(backend.server, planned.id, [
        'succeeded',
        'failed',
        'rolled-back',
      ]);
      expect(done.state).toBe('succeeded');
      expect(await readTree(path.join(root.dir, 'out/events'))).toEqual({
        'day=1.csv':
          'id,count,at\n1,5,2026-01-02T03:04:05.000000Z\n3,,2026-01-02T02:04:07.000000Z\n',
      });
      const validated = await report(planned.id);
      expect(validated.transform).toMatchObject({
        rows: { source: 3, bad: 1, quarantined: 1, expected: 2, target: 2 },
        badRows: [{ key: 'day=1.ndjson', count: 1, rows: [2] }],
        sample: { compared: 2, matches: true },
        quarantine: expect.stringMatching(
          new RegExp(`/${planned.id}/\\.quarantine$`),
        ),
      });
      const quarantined = await fs.readFile(
        path.join(
          root.dir,
          '.dataset-migration-backups',
          planned.id,
          '.quarantine/day=1.ndjson.ndjson',
        ),
        'utf8',
      );
      expect(JSON.parse(quarantined.trim())).toEqual({
        __dm_row: 2,
        id: 2,
        n: 'five',
        ts: '2026-01-02T03:04:06Z',
      });
    });

    it('a bad row under the default policy fails the migration, names the row and leaves the target as it was', async () => {
      const planned = await create({
        dataset: 'resource:default/strict',
        target: { location: 'file://data/out/strict', format: 'ndjson' },
        strategy: 'schema-transform',
        mapping: { fields: [{ from: 'amount', to: 'amount', cast: 'float' }] },
      });
      await approve(planned.id);
      const done = await waitForState(backend.server, planned.id, [
        'succeeded',
        'rolled-back',
      ]);
      expect(done.state).toBe('rolled-back');
      expect(done.reason).toMatch(
        /1 row\(s\) of 'a\.csv' have values the mapping cannot cast; first: row 2 \{"id":"2","amount":"two"\}/,
      );
      expect(await listFiles(path.join(root.dir, 'out/strict'))).toEqual([]);
    });
  });
});

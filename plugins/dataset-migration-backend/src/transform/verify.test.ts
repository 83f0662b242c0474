import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { TabularFormat } from '@internal/backstage-plugin-dataset-migration-common';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { copyOptions } from './sql';
import { connect, openDuckDb, transformFile } from './transformFile';
import { checkTarget } from './verify';

const CSV =
  'id,amount,created,note\n' +
  '9007199254740993,12.30,2026-01-02T03:04:05.123456+02:00,"a, ""b""\nc"\n' +
  '2,0.10,2026-01-02T00:00:00Z,\n' +
  '3,7.5,2026-06-30T23:59:59-07:00,""\n' +
  '4,99.99,2026-01-01T00:00:00Z,Zoë 🚀\n';
const mapping = {
  fields: [
    { from: 'id', to: 'order_id', cast: 'bigint' },
    { to: 'amount', cast: 'decimal(12,2)' },
    { from: 'created', to: 'created_at', cast: 'timestamp' },
  ],
  keys: ['id'],
};
const schema = [
  { name: 'order_id', type: 'BIGINT' },
  { name: 'amount', type: 'DECIMAL(12,2)' },
  { name: 'created_at', type: 'TIMESTAMP WITH TIME ZONE' },
  { name: 'note', type: 'VARCHAR' },
];

describe('checkTarget: the validation layers of one transformed object', () => {
  let db: DuckDBInstance;
  let conn: DuckDBConnection;
  let dir: string;
  beforeAll(async () => {
    db = await openDuckDb({ threads: 1, memoryLimit: '128MB' });
    conn = await connect(db);
  });
  afterAll(() => {
    conn.closeSync();
    db.closeSync();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-verify-'));
    fs.writeFileSync(path.join(dir, 'in.csv'), CSV);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function transformTo(format: TabularFormat, sampleSize = 3) {
    const output = path.join(dir, `out.${format}`);
    const result = await transformFile(conn, {
      key: 'in.csv',
      input: path.join(dir, 'in.csv'),
      sourceFormat: 'csv',
      output,
      targetFormat: format,
      mapping: { ...mapping, format },
      sampleSize,
    });
    return { output, result };
  }

  /** Rewrites a Parquet target through SQL over its rows (same schema). */
  async function rewrite(file: string, select: string) {
    const copy = path.join(dir, 'rewritten.parquet');
    await conn.run(
      `COPY (${select.replace(
        '$t',
        `read_parquet('${file}')`,
      )}) TO '${copy}' ${copyOptions('parquet')}`,
    );
    return copy;
  }

  it.each<TabularFormat>(['parquet', 'csv', 'ndjson'])(
    'passes an untouched %s output: schema, row count and sampled records agree',
    async format => {
      const { output, result } = await transformTo(format);
      expect(result.sample.keyColumns).toEqual(['order_id']);
      expect(result.sample.records).toHaveLength(3);
      const check = await checkTarget(conn, {
        file: output,
        format,
        schema,
        sample: result.sample,
      });
      expect(check).toEqual({
        rows: 4,
        unreadable: 0,
        sample: { compared: 3, mismatched: 0 },
      });
    },
  );

  it('finds a changed value in a sampled record and names the field', async () => {
    const { output, result } = await transformTo('parquet', 4);
    const tampered = await rewrite(
      output,
      `SELECT order_id, CASE WHEN order_id = 4 THEN 99.98 ELSE amount END::DECIMAL(12,2) AS amount, created_at, note FROM $t`,
    );
    const check = await checkTarget(conn, {
      file: tampered,
      format: 'parquet',
      schema,
      sample: result.sample,
    });
    expect(check.rows).toBe(4);
    expect(check.sample).toEqual({
      compared: 4,
      mismatched: 1,
      firstMismatch:
        'record order_id="4" differs: amount: expected "99.99", target has "99.98"',
    });
  });

  it('finds sampled records by their whole key when the first key column repeats', async () => {
    const lines = ['region,id,amount'];
    for (let i = 1; i <= 3000; i++) lines.push(`r${i % 2},${i},${i}.25`);
    fs.writeFileSync(path.join(dir, 'regions.csv'), `${lines.join('\n')}\n`);
    const output = path.join(dir, 'regions.parquet');
    const result = await transformFile(conn, {
      key: 'regions.csv',
      input: path.join(dir, 'regions.csv'),
      sourceFormat: 'csv',
      output,
      targetFormat: 'parquet',
      mapping: {
        format: 'parquet',
        fields: [
          { to: 'id', cast: 'bigint' },
          { to: 'amount', cast: 'decimal(12,2)' },
        ],
        keys: ['region', 'id'],
      },
      sampleSize: 20,
    });
    const regionSchema = [
      { name: 'region', type: 'VARCHAR' },
      { name: 'id', type: 'BIGINT' },
      { name: 'amount', type: 'DECIMAL(12,2)' },
    ];
    expect(result.sample.keyColumns).toEqual(['region', 'id']);
    expect(result.sample.records).toHaveLength(20);
    const check = await checkTarget(conn, {
      file: output,
      format: 'parquet',
      schema: regionSchema,
      sample: result.sample,
    });
    expect(check).toEqual({
      rows: 3000,
      unreadable: 0,
      sample: { compared: 20, mismatched: 0 },
    });
    const [, id] = result.sample.records[0].values;
    const tampered = await rewrite(
      output,
      `SELECT region, id, CASE WHEN id = ${id} THEN 0 ELSE amount END::DECIMAL(12,2) AS amount FROM $t`,
    );
    const changed = await checkTarget(conn, {
      file: tampered,
      format: 'parquet',
      schema: regionSchema,
      sample: result.sample,
    });
    expect(changed.sample).toMatchObject({ compared: 20, mismatched: 1 });
    expect(changed.sample.firstMismatch).toMatch(
      new RegExp(
        `record region=".*", id="${id}" differs: amount: expected ".*", target has "0.00"`,
      ),
    );
  });

  it('finds a missing record and a wrong row count', async () => {
    const { output, result } = await transformTo('parquet', 4);
    const tampered = await rewrite(
      output,
      `SELECT * FROM $t WHERE order_id <> 2`,
    );
    const check = await checkTarget(conn, {
      file: tampered,
      format: 'parquet',
      schema,
      sample: result.sample,
    });
    expect(check.rows).toBe(3);
    expect(check.sample.mismatched).toBe(1);
    expect(check.sample.firstMismatch).toBe(
      'record order_id="2" is missing in the target',
    );
  });

  it('finds a schema that is not the mapping’s (Parquet types, text column names)', async () => {
    const { output, result } = await transformTo('parquet');
    const widened = await rewrite(
      output,
      `SELECT order_id, amount::DOUBLE AS amount, created_at, note FROM $t`,
    );
    const check = await checkTarget(conn, {
      file: widened,
      format: 'parquet',
      schema,
      sample: result.sample,
    });
    expect(check.schemaProblem).toMatch(
      /target schema is order_id BIGINT, amount DOUBLE, .*; the mapping's is order_id BIGINT, amount DECIMAL\(12,2\)/,
    );

    const csv = path.join(dir, 'renamed.csv');
    fs.writeFileSync(csv, 'order_id,amt,created_at,note\n1,2,,\n');
    const renamed = await checkTarget(conn, {
      file: csv,
      format: 'csv',
      schema,
      sample: { keyColumns: ['order_id'], records: [] },
    });
    expect(renamed.schemaProblem).toMatch(/target schema is order_id, amt/);
  });

  it('counts values of a text target its declared type cannot read', async () => {
    const csv = path.join(dir, 'odd.csv');
    fs.writeFileSync(
      csv,
      'order_id,amount,created_at,note\n1,2.00,2026-01-01T00:00:00.000000Z,x\nabc,3.00,yesterday,y\n',
    );
    const check = await checkTarget(conn, {
      file: csv,
      format: 'csv',
      schema,
      sample: { keyColumns: ['order_id'], records: [] },
    });
    expect(check).toMatchObject({ rows: 2, unreadable: 1 });
  });

  it('writes Parquet another reader (hyparquet) reads the same: int64 beyond 2^53, decimals, UTC instants, null vs empty, newlines', async () => {
    const { output } = await transformTo('parquet');
    const rows = (await parquetReadObjects({
      file: await asyncBufferFromFile(output),
    })) as Array<Record<string, unknown>>;
    const byId = new Map(rows.map(r => [String(r.order_id), r]));
    expect(byId.get('9007199254740993')).toEqual({
      order_id: 9007199254740993n,
      amount: 12.3,
      created_at: new Date('2026-01-02T01:04:05.123Z'),
      note: 'a, "b"\nc',
    });
    expect(byId.get('2')!.note).toBeNull();
    expect(byId.get('3')!.note).toBe('');
    expect(byId.get('3')!.created_at).toEqual(new Date('2026-07-01T06:59:59Z'));
    expect(byId.get('4')).toMatchObject({ amount: 99.99, note: 'Zoë 🚀' });
  });
});

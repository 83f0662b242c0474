import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import type {
  Mapping,
  TabularFormat,
} from '@internal/backstage-plugin-dataset-migration-common';
import {
  BadRowsError,
  SchemaDriftError,
  connect,
  openDuckDb,
  readSchema,
  transformFile,
} from './transformFile';
import { buildTransformSql, impossibleCasts } from './sql';

// Quotes, commas and newlines in fields, a BOM, unicode, an unquoted empty
// field (null) next to a quoted "" (empty string), an id beyond 2^53,
// timestamps with offsets and microseconds, decimals.
const CSV =
  '\ufeffid,name,amount,created,status,internal\n' +
  '9007199254740993,"Smith, ""Al""\nJr.",12.34,2026-01-02T03:04:05.123456+02:00,open,x\n' +
  '2,,0.01,2026-01-02 00:00:00Z,open,y\n' +
  '3,"",100.50,2026-06-30T23:59:59-07:00,cancelled,z\n' +
  '4,Zoë 東京 🚀,7,2026-03-01T12:00:00Z,open,w\n';

const mapping = {
  format: 'parquet' as const,
  fields: [
    { from: 'id', to: 'order_id', cast: 'bigint' },
    { to: 'amount', cast: 'decimal(12,2)' },
    { from: 'created', to: 'created_at', cast: 'timestamp' },
    { to: 'name', default: 'n/a' },
  ],
  drop: ['internal'],
  filter: [{ column: 'status', op: 'ne' as const, value: 'cancelled' }],
  keys: ['id'],
};

describe('transformFile (DuckDB)', () => {
  let db: DuckDBInstance;
  let dir: string;
  beforeAll(async () => {
    db = await openDuckDb({ threads: 1, memoryLimit: '128MB' });
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-transform-'));
    fs.writeFileSync(path.join(dir, 'in.csv'), CSV);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** `dir/big.csv`: 5,000 orders, every 7th cancelled (714 filtered). */
  function writeBigCsv() {
    const lines = ['id,name,amount,created,status,internal'];
    for (let i = 1; i <= 5000; i++) {
      lines.push(
        `${i},n${i},${i % 100}.5,2026-01-01T00:00:00Z,${
          i % 7 === 0 ? 'cancelled' : 'open'
        },x`,
      );
    }
    fs.writeFileSync(path.join(dir, 'big.csv'), `${lines.join('\n')}\n`);
  }

  async function rows(file: string, format: 'csv' | 'ndjson' | 'parquet') {
    const conn = await connect(db);
    const read = {
      parquet: `read_parquet('${file}')`,
      csv: `read_csv('${file}', all_varchar = true, allow_quoted_nulls = false)`,
      ndjson: `read_json('${file}', format = 'newline_delimited')`,
    }[format];
    const result = await conn.runAndReadAll(`SELECT * FROM ${read}`);
    return result.getRowObjectsJson();
  }

  /** Transforms `dir/<input>` into `dir/<output>`, formats from the extensions. */
  async function transformIn(input: string, output: string, m: Mapping) {
    const format = (f: string) => path.extname(f).slice(1) as TabularFormat;
    return transformFile(await connect(db), {
      key: input,
      input: path.join(dir, input),
      sourceFormat: format(input),
      output: path.join(dir, output),
      targetFormat: format(output),
      mapping: m,
    });
  }

  it('CSV → Parquet keeps int64 beyond 2^53, decimals, instants in UTC, null vs empty, newlines', async () => {
    const result = await transformIn('in.csv', 'out.parquet', mapping);
    const conn = await connect(db);
    expect(result).toMatchObject({
      sourceRows: 4,
      filtered: 1,
      bad: 0,
      written: 3,
    });
    const schema = await readSchema(
      conn,
      path.join(dir, 'out.parquet'),
      'parquet',
    );
    expect(schema).toEqual([
      { name: 'order_id', type: 'BIGINT' },
      { name: 'name', type: 'VARCHAR' },
      { name: 'amount', type: 'DECIMAL(12,2)' },
      { name: 'created_at', type: 'TIMESTAMP WITH TIME ZONE' },
      { name: 'status', type: 'VARCHAR' },
    ]);
    const out = await rows(path.join(dir, 'out.parquet'), 'parquet');
    expect(out).toEqual([
      {
        order_id: '9007199254740993',
        name: 'Smith, "Al"\nJr.',
        amount: '12.34',
        created_at: '2026-01-02 01:04:05.123456+00',
        status: 'open',
      },
      // The unquoted empty name was null: the default applies.
      {
        order_id: '2',
        name: 'n/a',
        amount: '0.01',
        created_at: '2026-01-02 00:00:00+00',
        status: 'open',
      },
      {
        order_id: '4',
        name: 'Zoë 東京 🚀',
        amount: '7.00',
        created_at: '2026-03-01 12:00:00+00',
        status: 'open',
      },
    ]);
  });

  it('Parquet → NDJSON → CSV round-trips the same records, instants as ISO 8601 UTC', async () => {
    const conn = await connect(db);
    const keepAll = {
      fields: [
        { to: 'id', cast: 'bigint' },
        { to: 'amount', cast: 'decimal(12,2)' },
        { to: 'created', cast: 'timestamp' },
      ],
    };
    await transformFile(conn, {
      key: 'a',
      input: path.join(dir, 'in.csv'),
      sourceFormat: 'csv',
      output: path.join(dir, 'a.parquet'),
      targetFormat: 'parquet',
      mapping: keepAll,
    });
    await transformFile(conn, {
      key: 'b',
      input: path.join(dir, 'a.parquet'),
      sourceFormat: 'parquet',
      output: path.join(dir, 'b.ndjson'),
      targetFormat: 'ndjson',
      mapping: {},
    });
    const ndjson = fs
      .readFileSync(path.join(dir, 'b.ndjson'), 'utf8')
      .trim()
      .split('\n');
    // Read with JSON.parse, keeping big integers exact through the reviver's source text.
    const first = JSON.parse(
      ndjson[0],
      (_k, v, context?: { source?: string }) =>
        typeof v === 'number' &&
        Number.isInteger(v) &&
        !Number.isSafeInteger(v) &&
        context?.source
          ? BigInt(context.source)
          : v,
    );
    expect(first.id).toBe(9007199254740993n);
    expect(first.created).toBe('2026-01-02T01:04:05.123456Z');
    expect(first.name).toBe('Smith, "Al"\nJr.');
    expect(JSON.parse(ndjson[1]).name).toBeNull();
    expect(JSON.parse(ndjson[2]).name).toBe('');
    await transformFile(conn, {
      key: 'c',
      input: path.join(dir, 'b.ndjson'),
      sourceFormat: 'ndjson',
      output: path.join(dir, 'c.csv'),
      targetFormat: 'csv',
      mapping: { fields: [{ to: 'amount', cast: 'decimal(12,2)' }] },
    });
    const back = await rows(path.join(dir, 'c.csv'), 'csv');
    expect(back.map(r => [r.id, r.name, r.amount, r.created])).toEqual([
      [
        '9007199254740993',
        'Smith, "Al"\nJr.',
        '12.34',
        '2026-01-02T01:04:05.123456Z',
      ],
      ['2', null, '0.01', '2026-01-02T00:00:00.000000Z'],
      ['3', '', '100.50', '2026-07-01T06:59:59.000000Z'],
      ['4', 'Zoë 東京 🚀', '7.00', '2026-03-01T12:00:00.000000Z'],
    ]);
  });

  it('counts a bad value in a row the filter drops as filtered; a bad value in the filter column itself as bad', async () => {
    fs.writeFileSync(
      path.join(dir, 'in.csv'),
      `${CSV}5,x,not-a-number,2026-01-01T00:00:00Z,cancelled,v\n`,
    );
    const dropped = await transformIn('in.csv', 'out.parquet', {
      ...mapping,
      badRows: 'skip',
    });
    // Row 5 is cancelled: the filter drops it before any cast matters.
    expect(dropped).toMatchObject({
      sourceRows: 5,
      filtered: 2,
      bad: 0,
      written: 3,
    });
    const byAmount = await transformIn('in.csv', 'out2.parquet', {
      ...mapping,
      filter: [{ column: 'amount', op: 'gt', value: 0.05 }],
      badRows: 'skip',
    });
    // Row 5's amount cannot be compared: not silently filtered, but bad.
    expect(byAmount).toMatchObject({
      sourceRows: 5,
      filtered: 1,
      bad: 1,
      written: 3,
    });
    expect(byAmount.badRows).toEqual([
      { row: 5, values: expect.objectContaining({ amount: 'not-a-number' }) },
    ]);
  });

  it('samples the records with the smallest raw key hashes among the kept rows, whatever the object size', async () => {
    writeBigCsv();
    const conn = await connect(db);
    const result = await transformFile(conn, {
      key: 'big.csv',
      input: path.join(dir, 'big.csv'),
      sourceFormat: 'csv',
      output: path.join(dir, 'big.parquet'),
      targetFormat: 'parquet',
      mapping,
      sampleSize: 20,
    });
    expect(result).toMatchObject({ sourceRows: 5000, filtered: 714, bad: 0 });
    // The reference: every kept row hashed, no threshold.
    const expected = (
      await conn.runAndReadAll(
        `SELECT id FROM read_csv('${path.join(
          dir,
          'big.csv',
        )}', all_varchar = true) WHERE status <> 'cancelled' ORDER BY hash(id) LIMIT 20`,
      )
    )
      .getRows()
      .map(r => String(r[0]))
      .sort();
    const sampled = result.sample.records.map(r => r.values[0]!).sort();
    expect(sampled).toEqual(expected);
  });

  it('without declared keys, samples random kept records, each mapped from its source row', async () => {
    writeBigCsv();
    const { keys: _none, ...noKeys } = mapping;
    const conn = await connect(db);
    const run = async () =>
      transformFile(conn, {
        key: 'big.csv',
        input: path.join(dir, 'big.csv'),
        sourceFormat: 'csv',
        output: path.join(dir, 'big.parquet'),
        targetFormat: 'parquet',
        mapping: noKeys,
        sampleSize: 20,
      });
    const result = await run();
    expect(result).toMatchObject({ sourceRows: 5000, filtered: 714, bad: 0 });
    // The whole record is the key.
    expect(result.sample.keyColumns).toEqual([
      'order_id',
      'name',
      'amount',
      'created_at',
      'status',
    ]);
    const ids = result.sample.records.map(r => Number(r.values[0]));
    expect(new Set(ids).size).toBe(20);
    for (const [i, record] of result.sample.records.entries()) {
      const id = ids[i];
      expect(id % 7).not.toBe(0);
      expect(record.values).toEqual([
        String(id),
        `n${id}`,
        `${id % 100}.50`,
        '2026-01-01 00:00:00+00',
        'open',
      ]);
    }
    // Drawn from the whole object, not its first rows; another run draws
    // others (20 equal draws of 4,286 rows: odds below 1e-50).
    expect(Math.max(...ids)).toBeGreaterThan(100);
    const again = (await run()).sample.records.map(r => Number(r.values[0]));
    expect(new Set([...ids, ...again]).size).toBeGreaterThan(20);
  });

  describe('bad rows', () => {
    const withBad = `${CSV}5,bad,not-a-number,2026-01-01T00:00:00Z,open,v\n`;
    beforeEach(() => fs.writeFileSync(path.join(dir, 'in.csv'), withBad));
    const run = async (badRows: 'fail' | 'skip' | 'quarantine') =>
      transformFile(await connect(db), {
        key: 'orders.csv',
        input: path.join(dir, 'in.csv'),
        sourceFormat: 'csv',
        output: path.join(dir, 'out.csv'),
        targetFormat: 'csv',
        mapping: { ...mapping, badRows },
        quarantineFile: path.join(dir, 'quarantine.ndjson'),
      });

    it('fail: names the object and row, writes nothing', async () => {
      await expect(run('fail')).rejects.toThrow(BadRowsError);
      await expect(run('fail')).rejects.toThrow(
        /1 row\(s\) of 'orders.csv'.*row 5 .*not-a-number/s,
      );
      expect(fs.existsSync(path.join(dir, 'out.csv'))).toBe(false);
    });

    it('skip: leaves the row out and counts it', async () => {
      const result = await run('skip');
      expect(result).toMatchObject({
        sourceRows: 5,
        bad: 1,
        filtered: 1,
        written: 3,
        quarantined: 0,
      });
      expect(result.badRows).toEqual([
        { row: 5, values: expect.objectContaining({ amount: 'not-a-number' }) },
      ]);
      expect(fs.existsSync(path.join(dir, 'quarantine.ndjson'))).toBe(false);
    });

    it('quarantine: writes the row as it was, with its row number', async () => {
      const result = await run('quarantine');
      expect(result).toMatchObject({ bad: 1, written: 3, quarantined: 1 });
      const q = fs
        .readFileSync(path.join(dir, 'quarantine.ndjson'), 'utf8')
        .trim()
        .split('\n')
        .map(l => JSON.parse(l));
      expect(q).toEqual([
        expect.objectContaining({
          __dm_row: 5,
          id: '5',
          amount: 'not-a-number',
        }),
      ]);
    });
  });

  it('refuses a source whose schema drifted from the plan', async () => {
    const conn = await connect(db);
    await expect(
      transformFile(conn, {
        key: 'in.csv',
        input: path.join(dir, 'in.csv'),
        sourceFormat: 'csv',
        output: path.join(dir, 'out.csv'),
        targetFormat: 'csv',
        mapping,
        expectedSchema: [{ name: 'id', type: 'VARCHAR' }],
      }),
    ).rejects.toThrow(SchemaDriftError);
  });

  it('reports plan problems: missing columns, unknown references, impossible casts', async () => {
    const conn = await connect(db);
    const source = await readSchema(conn, path.join(dir, 'in.csv'), 'csv');
    const sql = buildTransformSql(
      {
        fields: [
          { from: 'nope', to: 'x' },
          { to: 'added', cast: 'integer', default: 0 },
        ],
        drop: ['gone'],
        filter: [{ column: 'missing', isNull: true }],
        keys: ['key'],
      },
      source,
    );
    expect(sql.problems).toEqual([
      expect.stringMatching(
        /^drop: column 'gone' is not in the source \(columns: 'id', 'name'/,
      ),
      expect.stringMatching(
        /^fields: column 'nope' is not in the source .*give it a default/,
      ),
      expect.stringMatching(/^filter: column 'missing'/),
      expect.stringMatching(/^keys: column 'key'/),
    ]);
    expect(sql.columns.find(c => c.change === 'add')).toEqual({
      target: { name: 'added', type: 'INTEGER' },
      change: 'add',
      default: 0,
    });
    const typed = buildTransformSql(
      { fields: [{ to: 'flag', cast: 'date' }] },
      [{ name: 'flag', type: 'BOOLEAN' }],
    );
    expect(impossibleCasts(typed)).toEqual([
      "fields: column 'flag' is BOOLEAN in the source and cannot be cast to DATE",
    ]);
  });

  it('quotes hostile column names and values', async () => {
    fs.writeFileSync(
      path.join(dir, 'evil.csv'),
      'a"b,c\n1,"x\'); DROP TABLE t; --"\n',
    );
    const result = await transformIn('evil.csv', 'evil.ndjson', {
      fields: [{ from: 'a"b', to: "it's", cast: 'integer' }],
      filter: [{ column: 'c', op: 'eq', value: "x'); DROP TABLE t; --" }],
    });
    expect(result.written).toBe(1);
    expect(
      JSON.parse(fs.readFileSync(path.join(dir, 'evil.ndjson'), 'utf8')),
    ).toEqual({
      "it's": 1,
      c: "x'); DROP TABLE t; --",
    });
  });
});

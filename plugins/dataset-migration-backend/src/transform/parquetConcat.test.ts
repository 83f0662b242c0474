import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { connect, openDuckDb } from './transformFile';
import { readRange, sizeAndFooter } from './__testUtils__/parquetFiles';
import {
  ParquetPartInput,
  ThriftField,
  ThriftList,
  ThriftStruct,
  footerLocation,
  parseThriftStruct,
  planParquetConcat,
  serializeThriftStruct,
} from './parquetConcat';

const COPY_OPTIONS = 'FORMAT parquet, COMPRESSION snappy';
const BASE_ID = 9007199254740993n; // 2^53 + 1

/** Rows i in [from, to): every type of the brief, NULLs, '', unicode, a low-cardinality column. */
const rowsSql = (from: number, to: number) => `
  SELECT (${BASE_ID} + i)::BIGINT AS id,
    (((i * 37) % 100000)::DECIMAL(12,2) / 100)::DECIMAL(12,2) AS amount,
    TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_microseconds(i * 1000003) AS created_at,
    DATE '2026-01-01' + (i % 400)::INTEGER AS day,
    CASE i % 7 WHEN 0 THEN NULL WHEN 1 THEN '' ELSE 'Zoë 東京 🚀 #' || i END AS note,
    i % 3 = 0 AS flag,
    i / 7.0::DOUBLE AS ratio,
    ['open', 'closed', 'pending'][i % 3 + 1] AS status
  FROM range(${from}, ${to}) t(i) ORDER BY i`;

/** What the object-store assembler would read: the size, the tail, the footer. */
const partInput = (file: string): ParquetPartInput => sizeAndFooter(file);

/** Writes the planned file, reading part ranges from `files`. */
function assemble(files: string[], out: string, parts = files.map(partInput)) {
  const plan = planParquetConcat(parts);
  const fd = fs.openSync(out, 'w');
  for (const piece of plan.pieces) {
    fs.writeSync(
      fd,
      'bytes' in piece
        ? piece.bytes
        : readRange(files[piece.part], piece.start, piece.end),
    );
  }
  fs.closeSync(fd);
  expect(fs.statSync(out).size).toBe(plan.size);
  return plan;
}

const field = (s: ThriftStruct, id: number) => s.fields.find(f => f.id === id);
/** Sets a field, keeping the fields in id order. */
function setField(s: ThriftStruct, f: ThriftField) {
  s.fields = [...s.fields.filter(x => x.id !== f.id), f].sort(
    (a, b) => a.id - b.id,
  );
}
const rowGroupsOf = (meta: ThriftStruct) =>
  (field(meta, 4)!.value as ThriftList).items as ThriftStruct[];
const chunksOf = (group: ThriftStruct) =>
  (field(group, 1)!.value as ThriftList).items as ThriftStruct[];

describe('Thrift compact codec', () => {
  it('encodes fields, zigzag varints and long field ids as the spec says', () => {
    const s: ThriftStruct = {
      fields: [
        { id: 1, type: 5, value: -1 },
        { id: 20, type: 6, value: 300n },
      ],
    };
    const bytes = serializeThriftStruct(s);
    expect([...bytes]).toEqual([0x15, 0x01, 0x06, 0x28, 0xd8, 0x04, 0x00]);
    expect(parseThriftStruct(bytes)).toEqual(s);
  });

  it('round-trips every type, including i64 extremes, bools, long lists, maps and unknown nesting', () => {
    const s: ThriftStruct = {
      fields: [
        { id: 1, type: 1, value: true },
        { id: 2, type: 1, value: false },
        { id: 3, type: 3, value: -128 },
        { id: 4, type: 4, value: -32768 },
        { id: 5, type: 5, value: -2147483648 },
        { id: 6, type: 6, value: -(2n ** 63n) },
        { id: 7, type: 6, value: 2n ** 63n - 1n },
        { id: 8, type: 7, value: -0.1 },
        { id: 9, type: 8, value: Buffer.from('Zoë 東京 🚀') },
        {
          id: 10,
          type: 9,
          value: {
            elemType: 6,
            items: Array.from(
              { length: 40 },
              (_, i) => BigInt(i - 20) * 2n ** 58n,
            ),
          },
        },
        {
          id: 11,
          type: 10,
          value: { elemType: 1, items: [true, false, true] },
        },
        {
          id: 12,
          type: 11,
          value: {
            keyType: 8,
            valueType: 12,
            entries: [
              [Buffer.from('k'), { fields: [{ id: 300, type: 5, value: 7 }] }],
            ],
          },
        },
        { id: 13, type: 11, value: { keyType: 0, valueType: 0, entries: [] } },
        {
          id: 100,
          type: 12,
          value: {
            fields: [{ id: 1, type: 9, value: { elemType: 12, items: [] } }],
          },
        },
      ],
    };
    const bytes = serializeThriftStruct(s);
    const parsed = parseThriftStruct(bytes);
    expect(parsed).toEqual(s);
    expect(serializeThriftStruct(parsed).equals(bytes)).toBe(true);
    expect(() =>
      parseThriftStruct(bytes.subarray(0, bytes.length - 1)),
    ).toThrow(/truncated/);
    expect(() =>
      parseThriftStruct(Buffer.concat([bytes, Buffer.of(0)])),
    ).toThrow(/ends at/);
  });
});

describe('planParquetConcat (DuckDB parts)', () => {
  let db: DuckDBInstance;
  let conn: DuckDBConnection;
  let dir: string;
  let files: string[];
  const file = (name: string) => path.join(dir, name);
  const all = async (sql: string) =>
    (await conn.runAndReadAll(sql)).getRowObjectsJson();

  beforeAll(async () => {
    db = await openDuckDb({ threads: 1, memoryLimit: '256MB' });
    conn = await connect(db);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-parquet-concat-'));
    // Part 0: > 100k rows, two row groups with the production options; part 1:
    // zero rows; part 2: small row groups, so several of them.
    files = [file('p0.parquet'), file('p1.parquet'), file('p2.parquet')];
    await conn.run(
      `COPY (${rowsSql(0, 130000)}) TO '${
        files[0]
      }' (${COPY_OPTIONS}, ROW_GROUP_SIZE 100000)`,
    );
    await conn.run(
      `COPY (${rowsSql(0, 0)}) TO '${
        files[1]
      }' (${COPY_OPTIONS}, ROW_GROUP_SIZE 100000)`,
    );
    await conn.run(
      `COPY (${rowsSql(130000, 135000)}) TO '${
        files[2]
      }' (${COPY_OPTIONS}, ROW_GROUP_SIZE 2048)`,
    );
  });
  afterAll(() => {
    conn?.closeSync();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('re-serialises every DuckDB footer to identical bytes', () => {
    for (const f of files) {
      const { footer } = partInput(f);
      expect(
        serializeThriftStruct(parseThriftStruct(footer)).equals(footer),
      ).toBe(true);
    }
  });

  it('DuckDB writes dictionary pages and bloom filters but no page index', () => {
    for (const f of files.filter((_, i) => i !== 1)) {
      const meta = parseThriftStruct(partInput(f).footer);
      const chunks = rowGroupsOf(meta).flatMap(chunksOf);
      const md = chunks.map(c => field(c, 3)!.value as ThriftStruct);
      expect(chunks.some(c => field(c, 4) || field(c, 6))).toBe(false);
      expect(md.some(m => field(m, 11))).toBe(true); // dictionary pages
      expect(md.some(m => field(m, 14))).toBe(true); // bloom filters
      expect(field(meta, 8)).toBeUndefined();
    }
    const empty = parseThriftStruct(partInput(files[1]).footer);
    expect(rowGroupsOf(empty)).toHaveLength(0);
  });

  it('assembles one file that DuckDB and hyparquet read as the parts in order', async () => {
    const out = file('all.parquet');
    const parts = files.map(partInput);
    const plan = assemble(files, out, parts);
    expect(plan.rows).toBe(135000);
    const footerStarts = parts.map(p => p.size - 8 - p.footer.length);
    expect(plan.pieces.slice(0, -1)).toEqual([
      { bytes: Buffer.from('PAR1') },
      { part: 0, start: 4, end: footerStarts[0] },
      // part 1 has no row groups: no range
      { part: 2, start: 4, end: footerStarts[2] },
    ]);

    expect(
      await all(`SELECT count(*)::INTEGER AS n FROM read_parquet('${out}')`),
    ).toEqual([{ n: 135000 }]);
    // Row order: id - BASE_ID is the row's position in the union of the parts.
    expect(
      await all(
        `SELECT count(*)::INTEGER AS n FROM read_parquet('${out}', file_row_number = true)
         WHERE id - ${BASE_ID} <> file_row_number`,
      ),
    ).toEqual([{ n: 0 }]);
    // Every value equals the parts' (EXCEPT ALL both ways, with positions).
    const merged = `SELECT file_row_number AS n, * EXCLUDE (file_row_number) FROM read_parquet('${out}', file_row_number = true)`;
    const union = `SELECT file_row_number AS n, * EXCLUDE (file_row_number) FROM read_parquet('${files[0]}', file_row_number = true)
      UNION ALL SELECT file_row_number + 130000, * EXCLUDE (file_row_number) FROM read_parquet('${files[1]}', file_row_number = true)
      UNION ALL SELECT file_row_number + 130000, * EXCLUDE (file_row_number) FROM read_parquet('${files[2]}', file_row_number = true)`;
    expect(
      await all(`SELECT (SELECT count(*) FROM ((${merged}) EXCEPT ALL (${union})))::INTEGER AS a,
                        (SELECT count(*) FROM ((${union}) EXCEPT ALL (${merged})))::INTEGER AS b`),
    ).toEqual([{ a: 0, b: 0 }]);
    expect(
      await all(`SELECT count(note)::INTEGER AS notes, count(*) FILTER (note = '')::INTEGER AS empty,
                        count(DISTINCT status)::INTEGER AS statuses, sum(flag::INTEGER)::INTEGER AS flags
                 FROM read_parquet('${out}')`),
    ).toEqual([{ notes: 115714, empty: 19286, statuses: 3, flags: 45000 }]);

    // Row groups: 2 + 0 + 3, their offsets shifted by where each part landed.
    const meta = (f: string) =>
      all(`SELECT row_group_id::INTEGER AS rg, row_group_num_rows::INTEGER AS rows, path_in_schema AS col,
                  data_page_offset::BIGINT AS data, dictionary_page_offset::BIGINT AS dict,
                  bloom_filter_offset::BIGINT AS bloom
           FROM parquet_metadata('${f}') ORDER BY row_group_id, column_id`);
    const [m, m0, m2] = [
      await meta(out),
      await meta(files[0]),
      await meta(files[2]),
    ];
    const groupRows = [...new Map(m.map(r => [r.rg, r.rows])).values()];
    expect(groupRows).toEqual([100352, 29648, 2048, 2048, 904]);
    const delta2 = footerStarts[0] - 4;
    const shifted = (rows: typeof m, d: number, rg0: number) =>
      rows.map(r => ({
        ...r,
        rg: Number(r.rg) + rg0,
        data: String(BigInt(r.data as string) + BigInt(d)),
        dict:
          r.dict === null ? null : String(BigInt(r.dict as string) + BigInt(d)),
        bloom:
          r.bloom === null
            ? null
            : String(BigInt(r.bloom as string) + BigInt(d)),
      }));
    expect(m).toEqual([...shifted(m0, 0, 0), ...shifted(m2, delta2, 2)]);
    expect(m.filter(r => r.dict !== null).map(r => r.col)).toContain('status');

    // Another reader.
    const rows = (await parquetReadObjects({
      file: await asyncBufferFromFile(out),
    })) as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(135000);
    expect(rows.every((r, n) => r.id === BASE_ID + BigInt(n))).toBe(true);
    expect(rows[130002]).toEqual({
      id: BASE_ID + 130002n,
      amount: 100.74, // 130002 * 37 % 100000 / 100
      created_at: new Date(
        Date.UTC(2026, 0, 1) + Math.floor((130002 * 1000003) / 1000),
      ),
      day: new Date(Date.UTC(2026, 0, 1) + (130002 % 400) * 86400000),
      note: 'Zoë 東京 🚀 #130002',
      flag: true,
      ratio: 130002 / 7,
      status: 'open',
    });
    expect(rows[130004].note).toBeNull(); // 130004 % 7 === 0
    expect(rows[130005].note).toBe('');
  });

  it('reproduces a single part byte for byte', () => {
    const out = file('one.parquet');
    assemble([files[0]], out);
    expect(fs.readFileSync(out).equals(fs.readFileSync(files[0]))).toBe(true);
  });

  it('renumbers row group ordinals across the merged file', () => {
    const parts = files.map(partInput).map(p => {
      const meta = parseThriftStruct(p.footer);
      rowGroupsOf(meta).forEach(g => setField(g, { id: 7, type: 4, value: 0 }));
      const footer = serializeThriftStruct(meta);
      return { size: p.size - p.footer.length + footer.length, footer };
    });
    const plan = planParquetConcat(parts);
    const last = plan.pieces[plan.pieces.length - 1] as { bytes: Buffer };
    const merged = parseThriftStruct(
      last.bytes.subarray(0, last.bytes.length - 8),
    );
    expect(rowGroupsOf(merged).map(g => field(g, 7)?.value)).toEqual([
      0, 1, 2, 3, 4,
    ]);
    expect(field(merged, 3)?.value).toBe(135000n);
  });

  it('refuses parts with different schemas or key/value metadata', async () => {
    const copy = async (name: string, sql: string, extra = '') => {
      await conn.run(
        `COPY (${sql}) TO '${file(name)}' (${COPY_OPTIONS}${extra})`,
      );
      return file(name);
    };
    const a = await copy(
      'a.parquet',
      'SELECT 1::BIGINT AS id, 1.5::DECIMAL(12,2) AS amount',
    );
    const b = await copy(
      'b.parquet',
      'SELECT 1::INTEGER AS id, 1.5::DECIMAL(12,2) AS amount',
    );
    const c = await copy(
      'c.parquet',
      'SELECT 1::BIGINT AS id, 1.5::DECIMAL(12,3) AS amount',
    );
    const d = await copy(
      'd.parquet',
      'SELECT 1::BIGINT AS id, 1.5::DECIMAL(12,2) AS amount',
      `, KV_METADATA {origin: 'x'}`,
    );
    const plan =
      (...f: string[]) =>
      () =>
        planParquetConcat(f.map(partInput));
    expect(plan(a, a)).not.toThrow();
    expect(plan(a, b)).toThrow(
      'Parquet parts have different schemas: part 0 has (id INT64, amount INT64), part 1 has (id INT32, amount INT64)',
    );
    expect(plan(a, c)).toThrow(
      /different schemas: part 1 has the same columns \(id INT64, amount INT64\)/,
    );
    expect(plan(a, d)).toThrow(/different key\/value metadata: part 1 differs/);
    expect(plan(a, files[0])).toThrow(/different schemas/);
  });

  it('refuses a page index, encryption and files that are not Parquet', () => {
    const withOffsetIndex = partInput(files[0]);
    const meta = parseThriftStruct(withOffsetIndex.footer);
    const chunk = chunksOf(rowGroupsOf(meta)[1])[2];
    setField(chunk, { id: 4, type: 6, value: 1234n });
    setField(chunk, { id: 5, type: 5, value: 20 });
    const footer = serializeThriftStruct(meta);
    expect(() =>
      planParquetConcat([
        partInput(files[2]),
        {
          size:
            withOffsetIndex.size +
            footer.length -
            withOffsetIndex.footer.length,
          footer,
        },
      ]),
    ).toThrow(
      'Parquet part 1 has a page index; concatenation would need to rewrite it',
    );

    const encrypted = parseThriftStruct(partInput(files[2]).footer);
    setField(encrypted, {
      id: 8,
      type: 12,
      value: { fields: [{ id: 1, type: 12, value: { fields: [] } }] },
    });
    const encFooter = serializeThriftStruct(encrypted);
    expect(() =>
      planParquetConcat([{ size: 100000, footer: encFooter }]),
    ).toThrow('Parquet part 0 is encrypted');

    const csv = file('x.csv');
    fs.writeFileSync(csv, 'id,name\n1,abcdefgh\n');
    const size = fs.statSync(csv).size;
    expect(() => footerLocation(size, readRange(csv, size - 8, size))).toThrow(
      'Not a Parquet file: magic is "fgh\\n", not "PAR1"',
    );
    const tail = Buffer.from('\x10\x00\x00\x00PARE', 'latin1');
    expect(() => footerLocation(1000, tail)).toThrow(/encrypted footer/);
    const huge = Buffer.from('\xff\xff\x00\x00PAR1', 'latin1');
    expect(() => footerLocation(1000, huge)).toThrow(
      'Parquet footer length 65535 does not fit in 1000 bytes',
    );
    expect(
      footerLocation(1000, Buffer.from('\x10\x00\x00\x00PAR1', 'latin1')),
    ).toEqual({ start: 976, length: 16 });
    expect(() => planParquetConcat([])).toThrow(/No Parquet parts/);
  });
});

import type {
  SchemaColumn,
  TabularFormat,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ident, literal, readerSql } from './sql';

/**
 * One sampled record: the hash of its key columns and every target column
 * as text (each value cast to its target type first, then to VARCHAR, so
 * both sides of the comparison are normalised the same way).
 */
export interface SampleRecord {
  h: string;
  values: Array<string | null>;
}

/** What the copy stage keeps per object for the validation to compare. */
export interface TransformSample {
  keyColumns: string[];
  records: SampleRecord[];
}

function hashOf(keyColumns: string[]) {
  return `hash(${keyColumns.map(ident).join(', ')})`;
}

function textColumns(schema: SchemaColumn[]) {
  return schema
    .map(c => `CAST(${ident(c.name)} AS VARCHAR) AS ${ident(c.name)}`)
    .join(', ');
}

function toRecords(rows: unknown[][]): SampleRecord[] {
  return rows.map(([h, ...values]) => ({
    h: String(h),
    values: values.map(v => (v === null ? null : String(v))),
  }));
}

/**
 * The `n` records with the smallest key hashes of a typed relation: the same
 * records whichever side (mapped source, re-read target) it is taken from.
 */
export async function sampleRecords(
  conn: DuckDBConnection,
  typed: string,
  schema: SchemaColumn[],
  keyColumns: string[],
  n: number,
): Promise<SampleRecord[]> {
  if (n <= 0) return [];
  const order = schema.map(c => ident(c.name)).join(', ');
  const reader = await conn.runAndReadAll(
    `SELECT CAST(${hashOf(keyColumns)} AS VARCHAR) AS __dm_h, ${textColumns(
      schema,
    )} FROM (${typed}) ORDER BY ${hashOf(keyColumns)}, ${order} LIMIT ${n}`,
  );
  return toRecords(reader.getRows() as unknown[][]);
}

/**
 * A written target file read back with the target schema's types. Text
 * formats are read as text and cast, so a value the type cannot hold is
 * counted (`unreadable`) instead of silently becoming something else.
 */
export async function readBack(
  conn: DuckDBConnection,
  file: string,
  format: TabularFormat,
  schema: SchemaColumn[],
): Promise<{
  /** The file, read as text (Parquet: with its own types). */
  raw: string;
  /** Each target column read with its type: `expr AS "name"`. */
  typed: string[];
  /** True for a row with a value its type cannot read. */
  unreadable: string;
  problem?: string;
}> {
  // Text formats are read as text (NDJSON: every column VARCHAR), then cast.
  const raw = readerSql(
    file,
    format,
    schema.map(c => ({ name: c.name, type: 'VARCHAR' })),
  );
  const described = (
    await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${raw}`)
  ).getRowObjectsJson();
  const actual = described.map(r => ({
    name: String(r.column_name),
    type: String(r.column_type),
  }));
  const expectTypes = format === 'parquet';
  const same =
    actual.length === schema.length &&
    actual.every(
      (c, i) =>
        c.name === schema[i].name &&
        (!expectTypes || c.type === schema[i].type),
    );
  const problem = same
    ? undefined
    : `target schema is ${actual
        .map(c => (expectTypes ? `${c.name} ${c.type}` : c.name))
        .join(', ')}; the mapping's is ${schema
        .map(c => (expectTypes ? `${c.name} ${c.type}` : c.name))
        .join(', ')}`;
  const cast = (c: SchemaColumn) =>
    expectTypes || c.type === 'VARCHAR'
      ? ident(c.name)
      : `TRY_CAST(${ident(c.name)} AS ${c.type})`;
  const unreadable = expectTypes
    ? []
    : schema
        .filter(c => c.type !== 'VARCHAR')
        .map(c => `(${ident(c.name)} IS NOT NULL AND ${cast(c)} IS NULL)`);
  return {
    raw,
    typed: schema.map(c => `${cast(c)} AS ${ident(c.name)}`),
    unreadable: unreadable.length ? unreadable.join(' OR ') : 'FALSE',
    problem,
  };
}

export interface TargetCheck {
  rows: number;
  /** Values of a text target its declared type cannot read. */
  unreadable: number;
  schemaProblem?: string;
  sample: { compared: number; mismatched: number; firstMismatch?: string };
}

/**
 * Checks one written target file against what the copy stage expected:
 * its schema, its row count and the sampled records, field by field. One
 * scan of the file counts its rows and unreadable values and picks out the
 * records whose key hashes were sampled.
 */
export async function checkTarget(
  conn: DuckDBConnection,
  options: {
    file: string;
    format: TabularFormat;
    schema: SchemaColumn[];
    sample: TransformSample;
  },
): Promise<TargetCheck> {
  const { schema, sample } = options;
  const back = await readBack(conn, options.file, options.format, schema);
  if (back.problem) {
    return {
      rows: 0,
      unreadable: 0,
      schemaProblem: back.problem,
      sample: {
        compared: sample.records.length,
        mismatched: sample.records.length,
      },
    };
  }
  const wanted = [...new Set(sample.records.map(r => r.h))];
  const isSampled = `__dm_h IN (${wanted.map(h => literal(h)).join(', ')})`;
  // CASE, so only the sampled rows are turned into text.
  const picked =
    wanted.length > 0
      ? `list(CASE WHEN ${isSampled} THEN [__dm_h, ${schema
          .map(c => `CAST(${ident(c.name)} AS VARCHAR)`)
          .join(', ')}] END) FILTER (WHERE ${isSampled})`
      : 'NULL';
  const hashed =
    wanted.length > 0
      ? `, CAST(${hashOf(sample.keyColumns)} AS VARCHAR) AS __dm_h`
      : '';
  const [row] = (
    await conn.runAndReadAll(
      `SELECT count(*), count(*) FILTER (WHERE __dm_unreadable), ${picked}
         FROM (SELECT *${hashed}
                 FROM (SELECT ${back.typed.join(', ')}, ${
        back.unreadable
      } AS __dm_unreadable FROM ${back.raw}))`,
    )
  ).getRows() as unknown[][];
  const result: TargetCheck = {
    rows: Number(row[0]),
    unreadable: Number(row[1]),
    sample: { compared: sample.records.length, mismatched: 0 },
  };
  if (sample.records.length === 0) return result;
  const found = toRecords(
    ((row[2] as { items: unknown[] } | null)?.items ?? []).map(
      v => (v as { items: unknown[] }).items,
    ),
  );
  const byHash = new Map<string, SampleRecord[]>();
  for (const r of found) byHash.set(r.h, [...(byHash.get(r.h) ?? []), r]);
  for (const expected of sample.records) {
    const candidates = byHash.get(expected.h) ?? [];
    const match = candidates.findIndex(c =>
      c.values.every((v, i) => v === expected.values[i]),
    );
    if (match >= 0) {
      candidates.splice(match, 1);
      continue;
    }
    result.sample.mismatched += 1;
    if (!result.sample.firstMismatch) {
      result.sample.firstMismatch = describeMismatch(
        schema,
        sample.keyColumns,
        expected,
        candidates[0],
      );
    }
  }
  return result;
}

function describeMismatch(
  schema: SchemaColumn[],
  keyColumns: string[],
  expected: SampleRecord,
  actual: SampleRecord | undefined,
): string {
  const key = keyColumns
    .map(k => {
      const i = schema.findIndex(c => c.name === k);
      return `${k}=${JSON.stringify(expected.values[i])}`;
    })
    .join(', ');
  if (!actual) return `record ${key} is missing in the target`;
  const fields = schema
    .map((c, i) =>
      actual.values[i] === expected.values[i]
        ? undefined
        : `${c.name}: expected ${JSON.stringify(
            expected.values[i],
          )}, target has ${JSON.stringify(actual.values[i])}`,
    )
    .filter(Boolean);
  return `record ${key} differs: ${fields.join('; ')}`;
}

import type {
  SchemaColumn,
  TabularFormat,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sniffCsv } from './csvDialect';
import { ident, literal, readerSql } from './sql';

/**
 * One sampled record: every target column as text (each value cast to its
 * target type first, then to VARCHAR, so both sides of the comparison are
 * normalised the same way). Records stored by earlier versions also carry
 * an `h` (a key hash) that nothing reads any more.
 */
export interface SampleRecord {
  values: Array<string | null>;
}

/** What the copy stage keeps per object for the validation to compare. */
export interface TransformSample {
  keyColumns: string[];
  records: SampleRecord[];
}

/**
 * The records of a typed relation (the few sampled rows, mapped) as text,
 * in a stable order.
 */
export async function textRecords(
  conn: DuckDBConnection,
  typed: string,
  schema: SchemaColumn[],
): Promise<SampleRecord[]> {
  const columns = schema.map(c => ident(c.name));
  const reader = await conn.runAndReadAll(
    `SELECT ${columns
      .map(c => `CAST(${c} AS VARCHAR) AS ${c}`)
      .join(', ')} FROM (${typed}) ORDER BY ${columns.join(', ')}`,
  );
  return (reader.getRows() as unknown[][]).map(values => ({
    values: values.map(v => (v === null ? null : String(v))),
  }));
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
  let raw: string;
  let actual: SchemaColumn[];
  if (format === 'csv') {
    ({ from: raw, schema: actual } = await sniffCsv(conn, file));
  } else {
    raw = readerSql(
      file,
      format,
      schema.map(c => ({ name: c.name, type: 'VARCHAR' })),
    );
    actual = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${raw}`))
      .getRowObjectsJson()
      .map(r => ({ name: String(r.column_name), type: String(r.column_type) }));
  }
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
 * records whose first key column holds a sampled value; they are matched
 * by all their key columns, then compared field by field.
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
  // The sampled records are found by their first key column (one typed
  // comparison per row), then by all their key columns (only for the rows
  // that passed), and compared field by field here.
  const keyIndexes = sample.keyColumns.map(k =>
    schema.findIndex(c => c.name === k),
  );
  const equals = (i: number, v: string | null) =>
    v === null
      ? `${ident(schema[i].name)} IS NULL`
      : `${ident(schema[i].name)} = TRY_CAST(${literal(v)} AS ${
          schema[i].type
        })`;
  const tuples = [
    ...new Map(
      sample.records.map(r => {
        const key = keyIndexes.map(i => r.values[i]);
        return [JSON.stringify(key), key] as const;
      }),
    ).values(),
  ];
  const first = schema[keyIndexes[0]];
  const firstValues = [...new Set(tuples.map(t => t[0]))];
  const present = firstValues.filter((v): v is string => v !== null);
  // An IN list of constants is one hash probe per row; the whole key is
  // compared (CASE: lazily) only for the few rows whose first column is in.
  const byFirst = [
    present.length > 0 &&
      `${ident(first.name)} IN (${present
        .map(v => `TRY_CAST(${literal(v)} AS ${first.type})`)
        .join(', ')})`,
    firstValues.includes(null) && `${ident(first.name)} IS NULL`,
  ]
    .filter(Boolean)
    .join(' OR ');
  const isSampled =
    tuples.length > 0 && keyIndexes.every(i => i >= 0)
      ? `CASE WHEN ${byFirst} THEN (${tuples
          .map(t => t.map((v, j) => equals(keyIndexes[j], v)).join(' AND '))
          .join(' OR ')}) ELSE FALSE END`
      : 'FALSE';
  // CASE, so only the sampled rows are turned into text.
  const [row] = (
    await conn.runAndReadAll(
      `SELECT count(*), count(*) FILTER (WHERE __dm_unreadable),
              list(CASE WHEN __dm_sampled THEN [${schema
                .map(c => `CAST(${ident(c.name)} AS VARCHAR)`)
                .join(', ')}] END) FILTER (WHERE __dm_sampled)
         FROM (SELECT *, ${isSampled} AS __dm_sampled
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
  const keyOf = (values: Array<string | null>) =>
    JSON.stringify(keyIndexes.map(i => values[i]));
  const byKey = new Map<string, Array<Array<string | null>>>();
  for (const found of (row[2] as { items: unknown[] } | null)?.items ?? []) {
    const values = (found as { items: unknown[] }).items.map(v =>
      v === null ? null : String(v),
    );
    byKey.set(keyOf(values), [...(byKey.get(keyOf(values)) ?? []), values]);
  }
  for (const expected of sample.records) {
    const candidates = byKey.get(keyOf(expected.values)) ?? [];
    const match = candidates.findIndex(c =>
      c.every((v, i) => v === expected.values[i]),
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
  actual: Array<string | null> | undefined,
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
      actual[i] === expected.values[i]
        ? undefined
        : `${c.name}: expected ${JSON.stringify(
            expected.values[i],
          )}, target has ${JSON.stringify(actual[i])}`,
    )
    .filter(Boolean);
  return `record ${key} differs: ${fields.join('; ')}`;
}

import { InputError } from '@backstage/errors';
import type {
  BadRowPolicy,
  Mapping,
  SchemaColumn,
  TabularFormat,
} from '@internal/backstage-plugin-dataset-migration-common';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  buildTransformSql,
  impossibleCasts,
  copyOptions,
  literal,
  outputColumn,
  jsonColumns,
  readerSql,
} from './sql';
import { sampleRecords, type TransformSample } from './verify';

/** Bounds of the embedded DuckDB: memory beyond the limit spills to disk. */
export interface DuckDbOptions {
  threads?: number;
  memoryLimit?: string;
  /** Where DuckDB spills when a query exceeds the memory limit. */
  tempDirectory?: string;
}

/** Opens an embedded DuckDB (in memory) with bounded threads and memory. */
export async function openDuckDb(
  options: DuckDbOptions = {},
): Promise<DuckDBInstance> {
  return DuckDBInstance.create(':memory:', {
    threads: String(options.threads ?? 2),
    memory_limit: options.memoryLimit ?? '256MB',
    ...(options.tempDirectory && { temp_directory: options.tempDirectory }),
    // Never reach the network or load extensions from it.
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
}

/** One connection with the session settings every transform relies on. */
export async function connect(db: DuckDBInstance): Promise<DuckDBConnection> {
  const conn = await db.connect();
  await conn.run(`SET TimeZone = 'UTC'`);
  return conn;
}

async function describeSql(conn: DuckDBConnection, from: string) {
  const reader = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`);
  return reader.getRowObjectsJson().map(r => ({
    name: String(r.column_name),
    type: String(r.column_type),
  }));
}

/**
 * How the transform reads a local file: the table function and the
 * columns (names and DuckDB types) it yields.
 */
export async function openSource(
  conn: DuckDBConnection,
  file: string,
  format: TabularFormat,
  /**
   * NDJSON: the schema the plan read. DuckDB infers JSON types per file (a
   * column that is all null in one object), so every object is read with
   * the plan's types; only the column names must agree.
   */
  planned?: SchemaColumn[],
): Promise<{ from: string; schema: SchemaColumn[] }> {
  const detected = await describeSql(conn, readerSql(file, format));
  if (format !== 'ndjson') {
    return { from: readerSql(file, format), schema: detected };
  }
  const schema = jsonColumns(detected);
  if (planned && sameNames(schema, planned)) {
    return { from: readerSql(file, format, planned), schema: planned };
  }
  return { from: readerSql(file, format, schema), schema };
}

function sameNames(a: SchemaColumn[], b: SchemaColumn[]) {
  const names = new Set(a.map(c => c.name));
  return a.length === b.length && b.every(c => names.has(c.name));
}

/** Columns and DuckDB types of a local file, as the transform reads it. */
export async function readSchema(
  conn: DuckDBConnection,
  file: string,
  format: TabularFormat,
): Promise<SchemaColumn[]> {
  return (await openSource(conn, file, format)).schema;
}

/** A row that could not be cast, by its 1-based position in the object. */
export interface BadRow {
  row: number;
  values: Record<string, unknown>;
}

export interface TransformFileResult {
  sourceRows: number;
  filtered: number;
  bad: number;
  written: number;
  /** First bad rows (at most 5), for the report. */
  badRows: BadRow[];
  quarantined: number;
  /** Mapped records chosen by key hash, for the validation to compare. */
  sample: TransformSample;
}

/** A source changed its schema after the plan. Not retryable. */
export class SchemaDriftError extends InputError {}

/** A row could not be cast and the policy is `fail`. Not retryable. */
export class BadRowsError extends InputError {}

export interface TransformFileOptions {
  input: string;
  sourceFormat: TabularFormat;
  output: string;
  targetFormat: TabularFormat;
  mapping: Mapping;
  /** The source schema the plan checked; a different one is drift. */
  expectedSchema?: SchemaColumn[];
  /** Where `quarantine` writes bad rows (NDJSON, with their row number). */
  quarantineFile?: string;
  /** Names the object in errors. */
  key: string;
  /** Records kept for the sampled-record check (default 0). */
  sampleSize?: number;
}

function sameSchema(a: SchemaColumn[], b: SchemaColumn[]) {
  return (
    a.length === b.length &&
    a.every((c, i) => c.name === b[i].name && c.type === b[i].type)
  );
}

/**
 * Transforms one local file with the mapping: counts rows, filtered and bad
 * rows in one pass, applies the bad-row policy, then writes the output with
 * a single `COPY`. DuckDB streams; memory stays within its limit.
 */
export async function transformFile(
  conn: DuckDBConnection,
  options: TransformFileOptions,
): Promise<TransformFileResult> {
  const { key } = options;
  const { from, schema } = await openSource(
    conn,
    options.input,
    options.sourceFormat,
    options.expectedSchema,
  );
  if (options.expectedSchema && !sameSchema(schema, options.expectedSchema)) {
    throw new SchemaDriftError(
      `Source object '${key}' no longer has the schema the plan was made with (plan: ${describe(
        options.expectedSchema,
      )}; now: ${describe(schema)})`,
    );
  }
  const sql = buildTransformSql(options.mapping, schema);
  const problems = [...sql.problems, ...impossibleCasts(sql)];
  if (problems.length > 0) {
    throw new InputError(
      `Mapping does not fit '${key}': ${problems.join('; ')}`,
    );
  }
  const counts = await conn.runAndReadAll(
    `SELECT count(*) AS total,
            count(*) FILTER (WHERE ${sql.bad}) AS bad,
            count(*) FILTER (WHERE NOT (${sql.bad}) AND NOT (${sql.keep})) AS filtered
       FROM ${from}`,
  );
  const [total, bad, filtered] = counts.getRows()[0].map(Number);
  const policy: BadRowPolicy = options.mapping.badRows ?? 'fail';
  let badRows: BadRow[] = [];
  if (bad > 0) {
    const numbered = `SELECT row_number() OVER () AS __dm_row, ${sql.bad} AS __dm_bad, * FROM ${from}`;
    const first = await conn.runAndReadAll(
      `SELECT * EXCLUDE (__dm_bad) FROM (${numbered}) WHERE __dm_bad ORDER BY __dm_row LIMIT 5`,
    );
    badRows = first.getRowObjectsJson().map(r => {
      const { __dm_row: row, ...values } = r;
      return { row: Number(row), values };
    });
    if (policy === 'fail') {
      throw new BadRowsError(
        `${bad} row(s) of '${key}' have values the mapping cannot cast; first: row ${
          badRows[0]?.row
        } ${JSON.stringify(
          badRows[0]?.values,
        )}. Fix the data, or set the mapping's badRows to skip or quarantine`,
      );
    }
    if (policy === 'quarantine' && options.quarantineFile) {
      await conn.run(
        `COPY (SELECT * EXCLUDE (__dm_bad) FROM (${numbered}) WHERE __dm_bad ORDER BY __dm_row) TO ${literal(
          options.quarantineFile,
        )} (FORMAT json)`,
      );
    }
  }
  const inner = `SELECT ${sql.select.join(', ')} FROM ${from} WHERE NOT (${
    sql.bad
  }) AND (${sql.keep})`;
  const outer = sql.targetSchema
    .map(c => outputColumn(c, options.targetFormat))
    .join(', ');
  const copied = await conn.runAndReadAll(
    `COPY (SELECT ${outer} FROM (${inner})) TO ${literal(
      options.output,
    )} ${copyOptions(options.targetFormat)}`,
  );
  const written = Number(copied.getRows()[0]?.[0] ?? 0);
  const sample: TransformSample = {
    keyColumns: sql.keyColumns,
    records: await sampleRecords(
      conn,
      inner,
      sql.targetSchema,
      sql.keyColumns,
      options.sampleSize ?? 0,
    ),
  };
  return {
    sample,
    sourceRows: total,
    filtered,
    bad,
    written,
    badRows,
    quarantined: policy === 'quarantine' && options.quarantineFile ? bad : 0,
  };
}

function describe(schema: SchemaColumn[]) {
  return schema.map(c => `${c.name} ${c.type}`).join(', ');
}

import fsp from 'node:fs/promises';
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
  ident,
  impossibleCasts,
  type TransformSql,
  copyOptions,
  literal,
  outputColumn,
  jsonColumns,
  readerSql,
} from './sql';
import { sniffCsv } from './csvDialect';
import { textRecords, type TransformSample } from './verify';

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
  if (format === 'csv') return sniffCsv(conn, file);
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

/** The per-object counts and sampled raw records, on the item's connection. */
const STATS = '__dm_stats';

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
  /**
   * Called once the `COPY` has written the output and before the counting
   * pass reads the source: work on the output (hashing it) can overlap it.
   */
  onWritten?: () => void;
  /**
   * CSV output: whether it starts with a header line (default true; a part
   * after the first is appended to the first's output without one).
   */
  header?: boolean;
}

function sameSchema(a: SchemaColumn[], b: SchemaColumn[]) {
  return (
    a.length === b.length &&
    a.every((c, i) => c.name === b[i].name && c.type === b[i].type)
  );
}

/**
 * Transforms one local file with the mapping: one `COPY` writes the rows
 * the filter keeps and the mapping can cast, then one cheaper pass counts
 * the rows and the filtered ones (bad rows are the rest) and keeps the
 * sample; the bad-row policy is applied after (`fail` removes the output).
 * DuckDB streams; memory stays within its limit.
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
  const policy: BadRowPolicy = options.mapping.badRows ?? 'fail';
  const declared = (options.mapping.keys?.length ?? 0) > 0;
  const sampleSize = options.sampleSize ?? 0;
  const kept = `(${sql.keep}) AND NOT (${sql.bad})`;
  // The COPY is the only pass that casts every value: it writes the rows
  // the filter keeps and the mapping can cast, and says how many.
  const outer = sql.targetSchema
    .map(c => outputColumn(c, options.targetFormat))
    .join(', ');
  const copied = await conn.runAndReadAll(
    `COPY (SELECT ${outer} FROM (SELECT ${sql.select.join(
      ', ',
    )} FROM ${from} WHERE ${kept})) TO ${literal(options.output)} ${copyOptions(
      options.targetFormat,
      options.header,
    )}`,
  );
  const written = Number(copied.getRows()[0]?.[0] ?? 0);
  options.onWritten?.();
  // A second, cheaper pass counts the rows and the filtered ones and keeps
  // the raw records of the sample (the smallest hashes of the raw key
  // values among the rows the filter keeps): no cast per row unless the
  // filter needs one. Bad rows are the difference.
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE ${STATS} AS
       SELECT count(*) AS total,
              count(*) FILTER (WHERE NOT (${sql.keep})) AS filtered${
      sampleSize > 0
        ? `,
              ${sampledRawRecords(sql, schema, sampleSize, written, declared)}`
        : ''
    }
         FROM ${sampleFrom(from, declared, sampleSize)}`,
  );
  const counts = await conn.runAndReadAll(
    `SELECT total, filtered FROM ${STATS}`,
  );
  const [total, filtered] = counts.getRows()[0].map(Number);
  const bad = total - filtered - written;
  try {
    if (bad < 0) {
      throw new Error(
        `'${key}': the transform wrote ${written} rows, more than the ${
          total - filtered
        } its filter keeps of ${total}`,
      );
    }
    const badRows =
      bad > 0
        ? await applyBadRowPolicy(
            conn,
            from,
            `(${sql.keep}) AND (${sql.bad})`,
            bad,
            policy,
            options,
          )
        : [];
    const sample: TransformSample = {
      keyColumns: sql.keyColumns,
      // The kept sampled records (at most sampleSize), mapped.
      records:
        sampleSize > 0
          ? await textRecords(
              conn,
              `SELECT ${sql.select.join(
                ', ',
              )} FROM (SELECT __dm_r.* FROM (SELECT unnest(sample) AS __dm_r FROM ${STATS})) WHERE NOT (${
                sql.bad
              })`,
              sql.targetSchema,
            )
          : [],
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
  } catch (e) {
    // Nothing of an object that fails here may look like a result.
    await fsp.rm(options.output, { force: true });
    throw e;
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${STATS}`);
  }
}

const HASH_SPACE = BigInt(2) ** BigInt(64);

/** The draw of a row when the mapping declares no keys. */
const DRAW = '__dm_draw';

/**
 * The counting pass's source: without declared keys each row also gets a
 * uniform random draw in [0, 1) (one per row: `random()` in a subquery).
 */
function sampleFrom(from: string, declared: boolean, n: number) {
  return declared || n === 0
    ? from
    : `(SELECT *, random() AS ${DRAW} FROM ${from})`;
}

/**
 * The aggregate keeping `n` source records (as they were read) among the
 * rows the filter keeps. With declared keys they are the rows whose raw
 * key values hash smallest (the same rows on every run); without, the
 * whole record would be the key, and hashing every value of every row
 * costs as much as the counting itself (3 M rows: 0.45 s of 0.6 s), so
 * the rows with the smallest random draws are kept instead: a uniform
 * sample, found in the target by all their values. Building the record for
 * every row is what costs, so only rows in the lowest `8n / rows` of the
 * hash (or draw) range are considered: with `rows` the rows written, about
 * 8n rows, and the `n` smallest are among them whenever 8n rows are (a
 * shortfall has odds below 1e-20 at n = 20).
 */
function sampledRawRecords(
  sql: TransformSql,
  source: SchemaColumn[],
  n: number,
  rows: number,
  declared: boolean,
): string {
  const raw = `{${source
    .map(c => `${literal(c.name)}: ${ident(c.name)}`)
    .join(', ')}}`;
  const order = declared
    ? `hash(${sql.keySources.map(ident).join(', ')})`
    : DRAW;
  const threshold = declared
    ? `${(HASH_SPACE * BigInt(8 * n)) / BigInt(rows || 1)}::UBIGINT`
    : String((8 * n) / (rows || 1));
  const below = rows > 8 * n ? ` AND ${order} < ${threshold}` : '';
  return `min_by(${raw}, ${order}, ${n}) FILTER (WHERE (${sql.keep})${below}) AS sample`;
}

/**
 * Rows with a value the mapping cannot cast: `fail` stops with the first
 * one; `quarantine` writes them all (with their row numbers) to the side
 * file. Returns the first five, by row number, for the report.
 */
async function applyBadRowPolicy(
  conn: DuckDBConnection,
  from: string,
  bad: string,
  count: number,
  policy: BadRowPolicy,
  options: TransformFileOptions,
): Promise<BadRow[]> {
  const numbered = `SELECT row_number() OVER () AS __dm_row, ${bad} AS __dm_bad, * FROM ${from}`;
  const badOnly = `SELECT * EXCLUDE (__dm_bad) FROM (${numbered}) WHERE __dm_bad ORDER BY __dm_row`;
  let first: Record<string, unknown>[];
  if (policy === 'quarantine' && options.quarantineFile) {
    // The quarantine file holds every bad row: the report's first ones
    // are read back from it rather than by another scan of the object.
    const file = literal(options.quarantineFile);
    await conn.run(`COPY (${badOnly}) TO ${file} (FORMAT json)`);
    first = (
      await conn.runAndReadAll(
        `SELECT * FROM read_json(${file}, format = 'newline_delimited') ORDER BY __dm_row LIMIT 5`,
      )
    ).getRowObjectsJson();
  } else {
    first = (
      await conn.runAndReadAll(`${badOnly} LIMIT 5`)
    ).getRowObjectsJson();
  }
  const badRows = first.map(r => {
    const { __dm_row: row, ...values } = r;
    return { row: Number(row), values };
  });
  if (policy === 'fail') {
    const [firstRow] = badRows;
    throw new BadRowsError(
      `${count} row(s) of '${
        options.key
      }' have values the mapping cannot cast; first: row ${
        firstRow?.row
      } ${JSON.stringify(
        firstRow?.values,
      )}. Fix the data, or set the mapping's badRows to skip or quarantine`,
    );
  }
  return badRows;
}

function describe(schema: SchemaColumn[]) {
  return schema.map(c => `${c.name} ${c.type}`).join(', ');
}

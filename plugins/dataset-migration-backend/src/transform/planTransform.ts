import { createHash } from 'node:crypto';
import { InputError } from '@backstage/errors';
import {
  type Mapping,
  type PlannedTransform,
  type SchemaColumn,
  type TabularFormat,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { ObjectStore } from '@internal/backstage-plugin-dataset-migration-node';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { checkDeclared, type DeclaredColumn } from './declaredSchema';
import { buildTransformSql, impossibleCasts } from './sql';
import { createSpillArea, spillHead, spillObject } from './spill';
import { connect, openSource, readSchema } from './transformFile';

const EXTENSIONS: Record<TabularFormat, string[]> = {
  csv: ['.csv'],
  ndjson: ['.ndjson', '.jsonl', '.json'],
  parquet: ['.parquet'],
};

/** Whether a key holds data of `format` (by extension); others are copied as they are. */
export function isDataKey(key: string, format: TabularFormat): boolean {
  const lower = key.toLowerCase();
  return EXTENSIONS[format].some(ext => lower.endsWith(ext));
}

/** The target key of a transformed object: the extension follows the format. */
export function targetKeyOf(
  key: string,
  source: TabularFormat,
  target: TabularFormat,
): string {
  const lower = key.toLowerCase();
  const ext = EXTENSIONS[source].find(e => lower.endsWith(e));
  const base = ext ? key.slice(0, -ext.length) : key;
  return `${base}${EXTENSIONS[target][0]}`;
}

/** How much of a CSV or NDJSON object the plan reads for its schema. */
export const SCHEMA_HEAD_BYTES = 4 * 1024 * 1024;

/** Data objects of a listing: how many, and the first by key. */
export interface DataKeyCount {
  first?: string;
  data: number;
  total: number;
  /** Data objects larger than two parts (transformed in parts). */
  large?: number;
  /** The part size they are cut by, in bytes (0: never in parts). */
  partBytes?: number;
}

/** Counts data keys as a listing streams by, keeping only the smallest key. */
export class DataKeyCounter implements DataKeyCount {
  first?: string;
  data = 0;
  total = 0;
  large = 0;
  constructor(private readonly format: TabularFormat, readonly partBytes = 0) {}
  add(key: string, size = 0) {
    this.total += 1;
    if (!isDataKey(key, this.format)) return;
    this.data += 1;
    if (this.partBytes > 0 && size > 2 * this.partBytes) this.large += 1;
    if (this.first === undefined || key < this.first) this.first = key;
  }
}

/** `sha256:` of the mapping's canonical JSON (keys sorted). */
export function mappingHash(mapping: Mapping): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map(k => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return `sha256:${createHash('sha256')
    .update(JSON.stringify(canonical(mapping)))
    .digest('hex')}`;
}

/**
 * The transform part of a plan: reads the schema of the first data object
 * (streamed to a spill file), checks the mapping against it and returns the
 * source and target schemas side by side. Every problem (missing columns,
 * unknown references, impossible casts) is an `InputError` naming them all,
 * before anything is written.
 */
export async function planTransform(options: {
  db: DuckDBInstance;
  source: ObjectStore;
  /** What the plan's listing found (see {@link DataKeyCounter}). */
  objects: DataKeyCount;
  sourceFormat: TabularFormat;
  mapping: Mapping;
  mappingSource: PlannedTransform['mappingSource'];
  spillDirectory?: string;
  /** Bytes of a CSV / NDJSON object read for its schema (tests). */
  headBytes?: number;
  /** Columns the dataset entity declares; the data must have exactly these. */
  declaredColumns?: DeclaredColumn[];
}): Promise<PlannedTransform> {
  const { sourceFormat, mapping } = options;
  const targetFormat = mapping.format ?? sourceFormat;
  const { first, data, total } = options.objects;
  if (data === 0 || first === undefined) {
    throw new InputError(
      `The source has no ${sourceFormat} objects (by extension: ${EXTENSIONS[
        sourceFormat
      ].join(', ')}) for the mapping to transform`,
    );
  }
  const spill = await createSpillArea(options.spillDirectory);
  const conn = await connect(options.db);
  try {
    const file = spill.file(`schema${EXTENSIONS[sourceFormat][0]}`);
    const sourceSchema = await sampleSchema(conn, options.source, first, {
      file,
      format: sourceFormat,
      headBytes: options.headBytes ?? SCHEMA_HEAD_BYTES,
    });
    const declared = options.declaredColumns;
    const notCompared = declared
      ? await checkDeclared(
          conn,
          (
            await openSource(conn, file, sourceFormat)
          ).from,
          declared,
          sourceSchema,
          first,
        )
      : [];
    const sql = buildTransformSql(mapping, sourceSchema);
    const problems = [...sql.problems, ...impossibleCasts(sql)];
    if (problems.length > 0) {
      throw new InputError(
        `The mapping does not fit the source schema (read from '${first}'): ${problems.join(
          '; ',
        )}`,
      );
    }
    return {
      mapping,
      mappingHash: mappingHash(mapping),
      mappingSource: options.mappingSource,
      sourceFormat,
      targetFormat,
      schemaFrom: declared
        ? `object ${first}, which has the columns ${
            declared.some(c => c.type) ? 'and types ' : ''
          }the entity declares${
            notCompared.length > 0
              ? ` (types not compared: ${notCompared.join(', ')})`
              : ''
          }`
        : `object ${first}`,
      sourceSchema,
      targetSchema: sql.targetSchema,
      columns: sql.columns,
      objects: {
        transformed: data,
        copied: total - data,
        ...(options.objects.large && {
          inParts: options.objects.large,
          partMiB: options.objects.partBytes! / (1024 * 1024),
        }),
      },
    };
  } finally {
    conn.closeSync();
    await spill.dispose();
  }
}

/**
 * The schema of one source object. CSV and NDJSON are sampled from their
 * first records (a range read, cut after the last complete record; a head
 * DuckDB still cannot read falls back to the whole object). Parquet keeps its schema in
 * the footer, so the object is read whole.
 */
async function sampleSchema(
  conn: DuckDBConnection,
  store: ObjectStore,
  key: string,
  options: { file: string; format: TabularFormat; headBytes: number },
): Promise<SchemaColumn[]> {
  const { file, format } = options;
  if (format === 'parquet') {
    await spillObject(store, key, file);
    return readSchema(conn, file, format);
  }
  const { partial } = await spillHead(store, key, file, options.headBytes, {
    quoted: format === 'csv',
  });
  try {
    return await readSchema(conn, file, format);
  } catch (e) {
    if (!partial) throw e;
    await spillObject(store, key, file);
    return readSchema(conn, file, format);
  }
}

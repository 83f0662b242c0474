import { createHash } from 'node:crypto';
import { InputError } from '@backstage/errors';
import type {
  Mapping,
  PlannedTransform,
  TabularFormat,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { ObjectStore } from '@internal/backstage-plugin-dataset-migration-node';
import type { DuckDBInstance } from '@duckdb/node-api';
import { buildTransformSql, impossibleCasts } from './sql';
import { createSpillArea, spillObject } from './spill';
import { connect, readSchema } from './transformFile';

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

/** Data objects of a listing: how many, and the first by key. */
export interface DataKeyCount {
  first?: string;
  data: number;
  total: number;
}

/** Counts data keys as a listing streams by, keeping only the smallest key. */
export class DataKeyCounter implements DataKeyCount {
  first?: string;
  data = 0;
  total = 0;
  constructor(private readonly format: TabularFormat) {}
  add(key: string) {
    this.total += 1;
    if (!isDataKey(key, this.format)) return;
    this.data += 1;
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
  try {
    const file = spill.file(`schema${EXTENSIONS[sourceFormat][0]}`);
    await spillObject(options.source, first, file);
    const conn = await connect(options.db);
    const sourceSchema = await readSchema(conn, file, sourceFormat);
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
      schemaFrom: `object ${first}`,
      sourceSchema,
      targetSchema: sql.targetSchema,
      columns: sql.columns,
      objects: {
        transformed: data,
        copied: total - data,
      },
    };
  } finally {
    await spill.dispose();
  }
}

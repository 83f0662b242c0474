import { InputError } from '@backstage/errors';
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  ANNOTATION_DATASET_SCHEMA,
  type SchemaColumn,
} from '@internal/backstage-plugin-dataset-migration-common';
import { ident } from './sql';

/** A column of the dataset's declared schema; `type` as the entity wrote it. */
export interface DeclaredColumn {
  name: string;
  type?: string;
}

type Kind = 'text' | 'integer' | 'number' | 'boolean' | 'date' | 'instant';

/**
 * The words a schema annotation uses for types (the mapping's cast names
 * and their usual synonyms), by kind. Other words (e.g. `uuid`, `struct<…>`)
 * are not compared.
 */
const DECLARED_KINDS: Record<string, Kind> = {
  string: 'text',
  text: 'text',
  varchar: 'text',
  integer: 'integer',
  int: 'integer',
  int32: 'integer',
  int64: 'integer',
  long: 'integer',
  smallint: 'integer',
  bigint: 'integer',
  float: 'number',
  double: 'number',
  real: 'number',
  number: 'number',
  numeric: 'number',
  boolean: 'boolean',
  bool: 'boolean',
  date: 'date',
  timestamp: 'instant',
  timestamptz: 'instant',
  datetime: 'instant',
  'timestamp with time zone': 'instant',
};

function declaredKind(type: string): Kind | undefined {
  const t = type.trim().toLowerCase();
  if (/^(decimal|numeric)\(\s*\d+\s*,\s*\d+\s*\)$/.test(t)) return 'number';
  return DECLARED_KINDS[t];
}

/** What a text value of each kind must cast to. */
const CAST_TO: Record<Exclude<Kind, 'text' | 'integer'>, string> = {
  number: 'DOUBLE',
  boolean: 'BOOLEAN',
  date: 'DATE',
  instant: 'TIMESTAMPTZ',
};

/** Whether data of DuckDB type `actual` holds values of a declared kind. */
function fits(kind: Kind, actual: string): boolean {
  const t = actual.toUpperCase();
  const integer = /^U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$/.test(t);
  switch (kind) {
    case 'text':
      // Any value can be read as text (e.g. zip codes sniffed as BIGINT).
      return true;
    case 'integer':
      return integer || /^DECIMAL\(\d+,0\)$/.test(t);
    case 'number':
      return integer || /^(FLOAT|DOUBLE|DECIMAL\(\d+,\d+\))$/.test(t);
    case 'boolean':
      return t === 'BOOLEAN';
    case 'date':
      return t === 'DATE';
    default:
      return t === 'DATE' || t.startsWith('TIMESTAMP');
  }
}

/**
 * The entity's declared columns against the data's: names must be the
 * same set, and each declared type in the vocabulary above must fit the
 * data. A typed column (Parquet, NDJSON numbers) must have a type that
 * holds it; a text column (every CSV column, which the transform reads as
 * text) must have values that all cast to it, checked on the rows `from`
 * reads (the plan's sample of the first object). A dataset whose annotation
 * no longer describes it is a plan error, not a guess. Returns the
 * declared types that were not compared.
 */
export async function checkDeclared(
  conn: DuckDBConnection,
  from: string,
  declared: DeclaredColumn[],
  schema: SchemaColumn[],
  key: string,
): Promise<string[]> {
  const actual = new Map(schema.map(c => [c.name, c.type]));
  const expected = new Set(declared.map(c => c.name));
  const missing = declared.map(c => c.name).filter(n => !actual.has(n));
  const extra = schema.map(c => c.name).filter(n => !expected.has(n));
  const wrongTypes: string[] = [];
  const notCompared: string[] = [];
  const byValue: Array<{ column: DeclaredColumn; kind: Kind }> = [];
  for (const column of declared) {
    const type = actual.get(column.name);
    if (!column.type || type === undefined) continue;
    const kind = declaredKind(column.type);
    if (!kind) notCompared.push(`${column.name} (${column.type})`);
    else if (kind !== 'text' && type.toUpperCase() === 'VARCHAR') {
      byValue.push({ column, kind });
    } else if (!fits(kind, type)) {
      wrongTypes.push(
        `${column.name} is declared ${column.type} but reads as ${type}`,
      );
    }
  }
  wrongTypes.push(...(await uncastable(conn, from, byValue)));
  const parts = [
    missing.length > 0 && `declared but not in the data: ${missing.join(', ')}`,
    extra.length > 0 && `in the data but not declared: ${extra.join(', ')}`,
    wrongTypes.length > 0 && `types: ${wrongTypes.join(', ')}`,
  ].filter(Boolean);
  if (parts.length > 0) {
    throw new InputError(
      `The dataset's declared schema (${ANNOTATION_DATASET_SCHEMA}) does not match '${key}' (${parts.join(
        '; ',
      )}); update the annotation or the data`,
    );
  }
  return notCompared;
}

/** Text columns with a value that does not cast to the declared type. */
async function uncastable(
  conn: DuckDBConnection,
  from: string,
  columns: Array<{ column: DeclaredColumn; kind: Kind }>,
): Promise<string[]> {
  if (columns.length === 0) return [];
  // DuckDB casts '2.5' to an integer by rounding, so integers are matched
  // by their digits; the other kinds by a cast that must succeed.
  const bad = (c: DeclaredColumn, kind: Kind) => {
    const col = ident(c.name);
    const ok =
      kind === 'integer'
        ? `regexp_full_match(trim(${col}), '[+-]?[0-9]+')`
        : `TRY_CAST(${col} AS ${
            CAST_TO[kind as Exclude<Kind, 'text' | 'integer'>]
          }) IS NOT NULL`;
    return `${col} IS NOT NULL AND NOT ${ok}`;
  };
  const reader = await conn.runAndReadAll(
    `SELECT ${columns
      .map(
        ({ column, kind }, i) =>
          `min(${ident(column.name)}) FILTER (WHERE ${bad(
            column,
            kind,
          )}) AS c${i}`,
      )
      .join(', ')} FROM ${from}`,
  );
  const [row] = reader.getRows();
  return columns.flatMap(({ column }, i) => {
    const value = row?.[i];
    if (value === null || value === undefined) return [];
    const text = String(value);
    const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
    return [
      `${column.name} is declared ${column.type} but holds ${JSON.stringify(
        shown,
      )}`,
    ];
  });
}

import type {
  ColumnChange,
  FilterCondition,
  Mapping,
  SchemaColumn,
  TabularFormat,
} from '@internal/backstage-plugin-dataset-migration-common';
import { parseCastType } from '@internal/backstage-plugin-dataset-migration-common';

/** A DuckDB identifier: always quoted, so any column name is safe. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A DuckDB literal of a mapping value (strings quoted, numbers finite). */
export function literal(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new Error(`${value} is not a finite number`);
    return String(value);
  }
  return `'${value.replace(/'/g, "''")}'`;
}

/** The DuckDB type a mapping cast produces. */
export function duckType(cast: string): string {
  const parsed = parseCastType(cast);
  if (!parsed) throw new Error(`Unknown cast '${cast}'`);
  switch (parsed.kind) {
    case 'string':
      return 'VARCHAR';
    case 'integer':
      return 'INTEGER';
    case 'bigint':
      return 'BIGINT';
    case 'float':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'date':
      return 'DATE';
    case 'timestamp':
      return 'TIMESTAMP WITH TIME ZONE';
    default:
      return `DECIMAL(${parsed.precision},${parsed.scale})`;
  }
}

/**
 * The table function reading a local NDJSON or Parquet file. (A CSV is read
 * with the dialect its sniff found: `sniffCsv` in csvDialect.ts.)
 */
export function readerSql(
  file: string,
  format: Exclude<TabularFormat, 'csv'>,
  /** NDJSON: the column types to read with (see {@link jsonColumns}). */
  columns?: SchemaColumn[],
): string {
  const path = literal(file);
  if (format === 'parquet') return `read_parquet(${path})`;
  return columns
    ? `read_json(${path}, format = 'newline_delimited', columns = {${columns
        .map(c => `${literal(c.name)}: ${literal(c.type)}`)
        .join(', ')}})`
    : `read_json(${path}, format = 'newline_delimited')`;
}

/**
 * NDJSON columns as the transform reads them: JSON numbers, booleans and
 * nested values keep the type DuckDB detects, but strings stay strings (a
 * string that looks like a date is not silently made one; a cast does that).
 */
export function jsonColumns(detected: SchemaColumn[]): SchemaColumn[] {
  return detected.map(c =>
    /^(DATE|TIME|TIMESTAMP|UUID|INTERVAL)/.test(c.type)
      ? { name: c.name, type: 'VARCHAR' }
      : c,
  );
}

/** The mapping turned into SQL over one source object, checked against its schema. */
export interface TransformSql {
  /** Target columns, in order: `expr AS "name"`. */
  select: string[];
  /** The expression of each target column (`select` without the alias). */
  exprs: string[];
  /** True for a row with a value that cannot be cast. */
  bad: string;
  /**
   * True for a row the filter keeps (nulls never match). A value of a
   * filter column that cannot be cast keeps the row, so that it is counted
   * as bad instead of being silently filtered out.
   */
  keep: string;
  columns: ColumnChange[];
  targetSchema: SchemaColumn[];
  /**
   * Target columns that identify a row for sampling: the mapping's `keys`
   * (source names) as the target names them, or every target column.
   */
  keyColumns: string[];
  /**
   * The source columns the key columns come from (columns the mapping adds
   * have none): the copy stage picks its sample by their raw values' hash,
   * which costs no cast per row.
   */
  keySources: string[];
  /** Plan errors: missing columns, unknown references. Empty when usable. */
  problems: string[];
}

function condition(
  c: FilterCondition,
  value: string,
  type: string | undefined,
): string {
  const lit = (v: string | number | boolean) =>
    type ? `CAST(${literal(v)} AS ${type})` : literal(v);
  if ('isNull' in c)
    return c.isNull ? `${value} IS NULL` : `${value} IS NOT NULL`;
  if ('in' in c) return `${value} IN (${c.in.map(lit).join(', ')})`;
  if ('notIn' in c) return `${value} NOT IN (${c.notIn.map(lit).join(', ')})`;
  const ops = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' };
  return `${value} ${ops[c.op]} ${lit(c.value)}`;
}

function changeOf(renamed: boolean, cast: boolean): ColumnChange['change'] {
  if (renamed && cast) return 'rename+cast';
  if (renamed) return 'rename';
  return cast ? 'cast' : 'keep';
}

/**
 * Builds the SQL of a mapping over a source schema. Output columns follow
 * the source order: mapped (renamed / cast / defaulted), dropped, or passed
 * through; `fields` entries the source lacks are added from their default.
 */
export function buildTransformSql(
  mapping: Mapping,
  source: SchemaColumn[],
): TransformSql {
  const problems: string[] = [];
  const names = new Set(source.map(c => c.name));
  const list = source.map(c => `'${c.name}'`).join(', ');
  const fields = mapping.fields ?? [];
  const drop = new Set(mapping.drop ?? []);
  for (const d of drop) {
    if (!names.has(d))
      problems.push(
        `drop: column '${d}' is not in the source (columns: ${list})`,
      );
  }
  const select: string[] = [];
  const exprs: string[] = [];
  const bad: string[] = [];
  const columns: ColumnChange[] = [];
  const targetSchema: SchemaColumn[] = [];
  // The mapped value of each source column, for the filter.
  const mapped = new Map<
    string,
    { expr: string; type?: string; bad?: string }
  >();

  for (const col of source) {
    const src = ident(col.name);
    if (drop.has(col.name)) {
      columns.push({ source: col, change: 'drop' });
      mapped.set(col.name, { expr: src, type: undefined });
      continue;
    }
    const field = fields.find(f => (f.from ?? f.to) === col.name);
    if (!field) {
      select.push(`${src} AS ${src}`);
      exprs.push(src);
      columns.push({ source: col, target: col, change: 'keep' });
      targetSchema.push(col);
      mapped.set(col.name, { expr: src });
      continue;
    }
    const type = field.cast ? duckType(field.cast) : col.type;
    let expr = field.cast ? `TRY_CAST(${src} AS ${type})` : src;
    const badValue = field.cast
      ? `(${src} IS NOT NULL AND ${expr} IS NULL)`
      : undefined;
    if (badValue) bad.push(badValue);
    if (field.default !== undefined) {
      expr = `COALESCE(${expr}, CAST(${literal(field.default)} AS ${type}))`;
    }
    select.push(`${expr} AS ${ident(field.to)}`);
    exprs.push(expr);
    const renamed = field.to !== col.name;
    const cast = type !== col.type;
    columns.push({
      source: col,
      target: { name: field.to, type },
      change: changeOf(renamed, cast),
      ...(field.default !== undefined && { default: field.default }),
    });
    targetSchema.push({ name: field.to, type });
    mapped.set(col.name, {
      expr,
      type: field.cast ? type : undefined,
      bad: badValue,
    });
  }

  for (const field of fields) {
    const from = field.from ?? field.to;
    if (names.has(from)) continue;
    if (field.default === undefined) {
      problems.push(
        `fields: column '${from}' is not in the source (columns: ${list}); give it a default to add it`,
      );
      continue;
    }
    const type = field.cast ? duckType(field.cast) : 'VARCHAR';
    const added = `CAST(${literal(field.default)} AS ${type})`;
    select.push(`${added} AS ${ident(field.to)}`);
    exprs.push(added);
    columns.push({
      target: { name: field.to, type },
      change: 'add',
      default: field.default,
    });
    targetSchema.push({ name: field.to, type });
  }

  const keep: string[] = [];
  for (const c of mapping.filter ?? []) {
    const m = mapped.get(c.column);
    if (!m) {
      problems.push(
        `filter: column '${c.column}' is not in the source (columns: ${list})`,
      );
      continue;
    }
    keep.push(`COALESCE(${condition(c, m.expr, m.type)}, ${m.bad ?? 'FALSE'})`);
  }
  const keyColumns: string[] = [];
  for (const k of mapping.keys ?? []) {
    if (!names.has(k)) {
      problems.push(
        `keys: column '${k}' is not in the source (columns: ${list})`,
      );
      continue;
    }
    const kept = columns.find(c => c.source?.name === k && c.target);
    if (kept) keyColumns.push(kept.target!.name);
    else
      problems.push(
        `keys: column '${k}' is dropped; key columns must reach the target`,
      );
  }
  if (select.length === 0)
    problems.push('the mapping leaves no column in the target');
  const keys =
    keyColumns.length > 0 || (mapping.keys?.length ?? 0) > 0
      ? keyColumns
      : targetSchema.map(c => c.name);
  const keySources = keys.flatMap(k => {
    const from = columns.find(c => c.target?.name === k)?.source?.name;
    return from === undefined ? [] : [from];
  });

  return {
    select,
    exprs,
    bad: bad.length ? bad.join(' OR ') : 'FALSE',
    keep: keep.length ? keep.join(' AND ') : 'TRUE',
    columns,
    targetSchema,
    keyColumns: keys,
    keySources: keySources.length > 0 ? keySources : source.map(c => c.name),
    problems,
  };
}

/**
 * Text formats get instants as ISO 8601 in UTC (`2026-01-02T03:04:05.123456Z`)
 * instead of DuckDB's `2026-01-02 03:04:05.123456+00`.
 */
export function outputColumn(col: SchemaColumn, format: TabularFormat): string {
  const name = ident(col.name);
  if (format !== 'parquet' && col.type === 'TIMESTAMP WITH TIME ZONE') {
    return `strftime(${name}, '%Y-%m-%dT%H:%M:%S.%fZ') AS ${name}`;
  }
  return name;
}

/** COPY options of a target format. */
export function copyOptions(format: TabularFormat, header = true): string {
  switch (format) {
    case 'csv':
      return `(FORMAT csv, HEADER ${header})`;
    case 'ndjson':
      return `(FORMAT json)`;
    default:
      return `(FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 100000)`;
  }
}

type Family = 'text' | 'number' | 'boolean' | 'date' | 'instant' | 'other';

function family(type: string): Family {
  const t = type.toUpperCase();
  if (t === 'VARCHAR' || t.startsWith('VARCHAR(')) return 'text';
  if (t === 'BOOLEAN') return 'boolean';
  if (t === 'DATE') return 'date';
  if (t.startsWith('TIMESTAMP')) return 'instant';
  if (
    /^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\))$/.test(
      t,
    )
  )
    return 'number';
  return 'other';
}

const ALLOWED: Record<Family, Family[]> = {
  text: ['text', 'number', 'boolean', 'date', 'instant'],
  number: ['text', 'number', 'boolean'],
  boolean: ['text', 'number', 'boolean'],
  date: ['text', 'date', 'instant'],
  instant: ['text', 'date', 'instant'],
  other: ['text'],
};

/**
 * The casts no value can survive (e.g. a Parquet BOOLEAN to a date): plan
 * errors, found before anything is written. Text casts are checked per row
 * (bad rows) because only the values tell.
 */
export function impossibleCasts(sql: TransformSql): string[] {
  const problems: string[] = [];
  for (const c of sql.columns) {
    if (!c.source || !c.target || c.source.type === c.target.type) continue;
    if (!ALLOWED[family(c.source.type)].includes(family(c.target.type))) {
      problems.push(
        `fields: column '${c.source.name}' is ${c.source.type} in the source and cannot be cast to ${c.target.type}`,
      );
    }
  }
  return problems;
}

import type { DuckDBConnection } from '@duckdb/node-api';
import type { SchemaColumn } from '@internal/backstage-plugin-dataset-migration-common';
import { literal } from './sql';

/** How the sniffer reports an option it left empty. */
const EMPTY = '(empty)';

function option(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return literal(text === EMPTY ? '' : text);
}

/**
 * Sniffs a local CSV file once (DuckDB's `sniff_csv`: dialect and header,
 * every column as text, an unquoted empty field null and a quoted `""` the
 * empty string) and returns the `read_csv` call with that dialect spelled
 * out: every later read of the file (the `COPY`, the counting pass) skips
 * sniffing it again.
 */
export async function sniffCsv(
  conn: DuckDBConnection,
  file: string,
): Promise<{ from: string; schema: SchemaColumn[] }> {
  const reader = await conn.runAndReadAll(
    `SELECT Delimiter, Quote, Escape, NewLineDelimiter, SkipRows, Comment, Columns
       FROM sniff_csv(${literal(
         file,
       )}, header = true, all_varchar = true, allow_quoted_nulls = false)`,
  );
  const [row] = reader.getRowObjectsJson();
  const columns = (row.Columns as Array<{ name: string }>).map(c => ({
    name: String(c.name),
    type: 'VARCHAR',
  }));
  const from = `read_csv(${literal(
    file,
  )}, auto_detect = false, header = true, delim = ${option(
    row.Delimiter,
  )}, quote = ${option(row.Quote)}, escape = ${option(
    row.Escape,
  )}, new_line = ${option(row.NewLineDelimiter)}, skip = ${Number(
    row.SkipRows ?? 0,
  )}, comment = ${option(row.Comment)}, columns = {${columns
    .map(c => `${literal(c.name)}: 'VARCHAR'`)
    .join(', ')}}, allow_quoted_nulls = false)`;
  return { from, schema: columns };
}

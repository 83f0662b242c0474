import type { DuckDBConnection } from '@duckdb/node-api';
import type { SchemaColumn } from '@internal/backstage-plugin-dataset-migration-common';
import { literal } from './sql';

/** How the sniffer reports an option it left empty. */
const EMPTY = '(empty)';

function option(value: unknown): string {
  return literal(text(value));
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
  const row = await sniffRow(conn, file);
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

async function sniffRow(conn: DuckDBConnection, file: string) {
  const reader = await conn.runAndReadAll(
    `SELECT Delimiter, Quote, Escape, NewLineDelimiter, SkipRows, Comment, Columns
       FROM sniff_csv(${literal(
         file,
       )}, header = true, all_varchar = true, allow_quoted_nulls = false)`,
  );
  return reader.getRowObjectsJson()[0];
}

function text(value: unknown): string {
  const t = value === null || value === undefined ? '' : String(value);
  return t === EMPTY ? '' : t;
}

/**
 * Why a CSV file's dialect does not allow cutting it at record ends found
 * by counting double quotes (recordEnds.ts), or undefined when it does:
 * quotes other than `"`, an escape other than a doubled quote, comment
 * lines or skipped rows before the header.
 */
export async function uncuttableCsvDialect(
  conn: DuckDBConnection,
  file: string,
): Promise<string | undefined> {
  const row = await sniffRow(conn, file);
  const quote = text(row.Quote);
  const escape = text(row.Escape);
  if (quote !== '' && quote !== '"') return `its quote is ${quote}`;
  if (escape !== '' && escape !== quote) return `its escape is ${escape}`;
  if (text(row.Comment) !== '') return 'it has comment lines';
  if (Number(row.SkipRows ?? 0) > 0) return 'rows before its header';
  return undefined;
}

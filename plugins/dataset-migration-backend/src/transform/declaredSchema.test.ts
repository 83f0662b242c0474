import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { checkDeclared } from './declaredSchema';
import { connect, openDuckDb } from './transformFile';

const typed = [
  { name: 'id', type: 'BIGINT' },
  { name: 'zip', type: 'BIGINT' },
  { name: 'amount', type: 'DECIMAL(12,2)' },
  { name: 'ratio', type: 'DOUBLE' },
  { name: 'day', type: 'DATE' },
  { name: 'at', type: 'TIMESTAMP WITH TIME ZONE' },
  { name: 'ok', type: 'BOOLEAN' },
  { name: 'note', type: 'VARCHAR' },
];

/** Text columns as a CSV source reads them (all VARCHAR). */
const TEXT_ROWS = `(SELECT * FROM (VALUES
  ('9007199254740993', '2.5', '2026-01-02', '2026-01-02T03:04:05.123456+02:00', 'true', NULL),
  ('2', '3', '2026-02-03', '2026-02-03T00:00:00Z', 'false', 'x')
) AS t(id, amount, day, "at", ok, note))`;
const text = ['id', 'amount', 'day', 'at', 'ok', 'note'].map(name => ({
  name,
  type: 'VARCHAR',
}));

describe('checkDeclared', () => {
  let db: DuckDBInstance;
  let conn: DuckDBConnection;
  beforeAll(async () => {
    db = await openDuckDb();
    conn = await connect(db);
  });
  afterAll(() => conn.closeSync());

  const none = '(SELECT 1 AS unused)';

  it('accepts declared types typed data can hold, in the usual words', async () => {
    await expect(
      checkDeclared(
        conn,
        none,
        [
          { name: 'id', type: 'bigint' },
          // Digits read as a number are still fine as text.
          { name: 'zip', type: 'string' },
          { name: 'amount', type: 'decimal(12, 2)' },
          { name: 'ratio', type: 'Double' },
          { name: 'day', type: 'date' },
          { name: 'at', type: 'timestamptz' },
          { name: 'ok', type: 'bool' },
          { name: 'note', type: 'text' },
        ],
        typed,
        'a.parquet',
      ),
    ).resolves.toEqual([]);
  });

  it('names every typed column that does not read as its declared type', async () => {
    await expect(
      checkDeclared(
        conn,
        none,
        [
          { name: 'id', type: 'bigint' },
          { name: 'zip', type: 'string' },
          { name: 'amount', type: 'integer' },
          { name: 'ratio', type: 'float' },
          { name: 'day', type: 'timestamp' },
          { name: 'at', type: 'date' },
          { name: 'ok', type: 'boolean' },
          { name: 'note', type: 'text' },
        ],
        typed,
        'a.parquet',
      ),
    ).rejects.toThrow(
      "The dataset's declared schema (dataset-migration.io/schema) does not match 'a.parquet' (types: amount is declared integer but reads as DECIMAL(12,2), at is declared date but reads as TIMESTAMP WITH TIME ZONE); update the annotation or the data",
    );
  });

  it('checks the values of text columns (CSV) against the declared types', async () => {
    await expect(
      checkDeclared(
        conn,
        TEXT_ROWS,
        [
          { name: 'id', type: 'bigint' },
          { name: 'amount', type: 'float' },
          { name: 'day', type: 'date' },
          { name: 'at', type: 'timestamp' },
          { name: 'ok', type: 'boolean' },
          { name: 'note', type: 'string' },
        ],
        text,
        'a.csv',
      ),
    ).resolves.toEqual([]);
    await expect(
      checkDeclared(
        conn,
        TEXT_ROWS,
        [
          { name: 'id', type: 'bigint' },
          { name: 'amount', type: 'integer' },
          { name: 'day', type: 'date' },
          { name: 'at', type: 'timestamp' },
          { name: 'ok', type: 'boolean' },
          { name: 'note', type: 'date' },
        ],
        text,
        'a.csv',
      ),
    ).rejects.toThrow(
      '(types: amount is declared integer but holds "2.5", note is declared date but holds "x")',
    );
  });

  it('reports names and types together, and returns the types it cannot compare', async () => {
    await expect(
      checkDeclared(
        conn,
        none,
        [
          { name: 'id', type: 'boolean' },
          { name: 'total', type: 'float' },
        ],
        [
          { name: 'id', type: 'BIGINT' },
          { name: 'amount', type: 'DOUBLE' },
        ],
        'b.parquet',
      ),
    ).rejects.toThrow(
      '(declared but not in the data: total; in the data but not declared: amount; types: id is declared boolean but reads as BIGINT)',
    );
    await expect(
      checkDeclared(
        conn,
        none,
        [{ name: 'id', type: 'uuid' }, { name: 'note' }],
        [
          { name: 'id', type: 'UUID' },
          { name: 'note', type: 'VARCHAR' },
        ],
        'c.parquet',
      ),
    ).resolves.toEqual(['id (uuid)']);
  });
});

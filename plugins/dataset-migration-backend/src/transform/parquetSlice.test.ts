import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import { connect, openDuckDb } from './transformFile';
import { readRange, sizeAndFooter } from './__testUtils__/parquetFiles';
import { planParquetSlices, sliceFooter } from './parquetSlice';

const footerOf = (file: string) => sizeAndFooter(file).footer;

describe('Parquet slices', () => {
  let dir: string;
  let db: DuckDBInstance;
  const source = () => path.join(dir, 'source.parquet');
  const rowsOf = async (file: string) =>
    (
      await (
        await connect(db)
      ).runAndReadAll(`SELECT * FROM read_parquet('${file}')`)
    ).getRowObjectsJson();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-slice-'));
    db = await openDuckDb({ threads: 1, memoryLimit: '128MB' });
    // Five row groups of 2,048 rows (the last 1,808), a dictionary-encoded
    // column (with bloom filters), 64-bit ids, NULLs and unicode.
    await (
      await connect(db)
    ).run(
      `COPY (SELECT (9007199254740993 + i)::BIGINT AS id,
         ['open', 'closed', 'pending'][i % 3 + 1] AS status,
         CASE WHEN i % 5 = 0 THEN NULL ELSE 'Zoë #' || i END AS note
       FROM range(0, 10000) t(i) ORDER BY i)
       TO '${source()}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 2048)`,
    );
  });
  afterAll(() => {
    db.closeSync();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('cuts a file into runs of whole row groups, each a Parquet file of its own, together every row in order', async () => {
    const size = fs.statSync(source()).size;
    const footer = footerOf(source());
    const slices = planParquetSlices(footer, Math.floor(size / 4))!;
    expect(slices.length).toBeGreaterThanOrEqual(2);
    expect(slices.reduce((n, s) => n + s.rows, 0)).toBe(10000);
    for (let i = 1; i < slices.length; i++) {
      expect(slices[i].start).toBeGreaterThanOrEqual(slices[i - 1].end);
    }
    const all: unknown[] = [];
    for (const [i, slice] of slices.entries()) {
      const file = path.join(dir, `slice-${i}.parquet`);
      fs.writeFileSync(
        file,
        Buffer.concat([
          Buffer.from('PAR1'),
          readRange(source(), slice.start, slice.end),
          sliceFooter(footer, slice),
        ]),
      );
      const rows = await rowsOf(file);
      expect(rows).toHaveLength(slice.rows);
      all.push(...rows);
    }
    expect(all).toEqual(await rowsOf(source()));
    expect((all[0] as any).id).toBe('9007199254740993');
  });

  it('does not cut a file into fewer than two parts', () => {
    const size = fs.statSync(source()).size;
    expect(planParquetSlices(footerOf(source()), size)).toBeUndefined();
  });
});

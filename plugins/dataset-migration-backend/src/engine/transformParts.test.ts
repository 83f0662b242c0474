import fs from 'node:fs/promises';
import path from 'node:path';
import { TestDatabases } from '@backstage/backend-test-utils';
import { WrappingBackend, writeFile } from './__testUtils__/harness';
import {
  filesUnder,
  parquetRows,
  readText,
  ordersCsv,
  ordersNdjson,
  wholeTransform,
  writeOrdersParquet,
  useTransformPartsEngines,
} from './__testUtils__/transformParts';

jest.setTimeout(120_000);

describe('schema-transform of a large object in parts', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });
  const { engines, setup, run, recordingReads } =
    useTransformPartsEngines(databases);

  describe.each(databases.eachSupportedId())('%p', databaseId => {
    it.each(['csv', 'ndjson', 'parquet'] as const)(
      'CSV → %s: parts cut between quoted newlines assemble into what a whole transform writes, bad rows numbered in the whole object',
      async format => {
        const { root } = engines;
        await writeFile(path.join(root, 'src'), 'orders.csv', ordersCsv());
        const whole = await wholeTransform(root, format);
        const reads: Array<{ start: number; end?: number }> = [];
        const engine = await setup(databaseId, recordingReads(reads));
        const end = await run(engine, format);
        expect(end.state).toBe('succeeded');
        // The plan said so.
        expect(end.plan?.transform?.objects).toEqual({
          transformed: 1,
          copied: 0,
          inParts: 1,
          partMiB: 4 / 1024,
        });

        // Parts after the first read the header, then their range.
        const rangeStarts = new Set(
          reads.filter(r => r.start > 0).map(r => r.start),
        );
        expect(rangeStarts.size).toBeGreaterThanOrEqual(3);

        // CSV and NDJSON byte for byte; Parquet row for row (its row
        // groups are the parts').
        const written = path.join(root, 'dst', `orders.${format}`);
        const wholeFile = path.join(root, 'whole', `out.${format}`);
        const contents = format === 'parquet' ? parquetRows : readText;
        expect(await contents(written)).toEqual(await contents(wholeFile));

        const report = await engine.getReport(end.id);
        const rows = whole.counts;
        expect(report?.transform).toMatchObject({
          rows: {
            source: 600,
            bad: 6,
            quarantined: 6,
            target: rows.written,
            matches: true,
          },
          sample: { compared: 20, mismatched: 0, matches: true },
          methods: expect.arrayContaining([
            expect.stringMatching(
              /^1 large object\(s\) were transformed in parts cut at record ends/,
            ),
          ]),
          badRows: [
            {
              key: 'orders.csv',
              rows: rows.badRows.map(r => r.row),
            },
          ],
        });
        expect(rows.badRows.map(r => r.row)).toEqual([97, 194, 291, 388, 485]);

        // One quarantine file, rows numbered as a whole transform does.
        const area = path.join(root, '.dataset-migration-backups', end.id);
        expect(
          await fs.readFile(
            path.join(area, '.quarantine', 'orders.csv.ndjson'),
            'utf8',
          ),
        ).toBe(whole.quarantine);
        // The staged parts are gone once validated; spill files too.
        expect(
          (await filesUnder(area)).filter(f => f.includes('.staging')),
        ).toEqual([]);
        expect(await filesUnder(path.join(root, 'spill'))).toEqual([]);
      },
    );

    it('NDJSON → CSV: cut at newlines, parts read with the planned types, the same bytes as a whole transform', async () => {
      const { root } = engines;
      await writeFile(path.join(root, 'src'), 'orders.ndjson', ordersNdjson());
      const whole = await wholeTransform(root, 'csv', 'ndjson');
      const reads: Array<{ start: number; end?: number }> = [];
      const engine = await setup(databaseId, {
        wrap: (local: any) =>
          new WrappingBackend(local, {
            async onRead(key, range) {
              if (key === 'orders.ndjson' && range) reads.push(range);
            },
          }),
      });
      const end = await run(engine, 'csv', 'ndjson');
      expect(end.state).toBe('succeeded');
      // No header to read first: one ranged read per part.
      expect(reads.filter(r => r.start === 0)).toHaveLength(1);
      expect(reads.length).toBeGreaterThanOrEqual(4);
      expect(
        await fs.readFile(path.join(root, 'dst', 'orders.csv'), 'utf8'),
      ).toBe(whole.bytes.toString());
      const report = await engine.getReport(end.id);
      expect(report?.transform?.rows).toMatchObject({
        source: 600,
        bad: 6,
        matches: true,
      });
    });

    it.each(['csv', 'parquet'] as const)(
      'Parquet → %s: cut by row groups from the footer alone, each part a Parquet file of its own',
      async format => {
        const { root } = engines;
        const src = path.join(root, 'src');
        await fs.mkdir(src, { recursive: true });
        await writeOrdersParquet(path.join(src, 'orders.parquet'), 6000);
        const whole = await wholeTransform(root, format, 'parquet');
        const reads: Array<{ start: number; end?: number }> = [];
        const engine = await setup(databaseId, {
          wrap: (local: any) =>
            new WrappingBackend(local, {
              async onRead(key, range) {
                if (key === 'orders.parquet' && range) reads.push(range);
              },
            }),
        });
        const end = await run(engine, format, 'parquet');
        expect(end.state).toBe('succeeded');
        // Nothing read whole: the footer, then each part's row groups.
        const starts = new Set(reads.map(r => r.start));
        expect(starts.size).toBeGreaterThanOrEqual(4);
        const written = path.join(root, 'dst', `orders.${format}`);
        const wholeFile = path.join(root, 'whole', `out.${format}`);
        const contents = format === 'parquet' ? parquetRows : readText;
        expect(await contents(written)).toEqual(await contents(wholeFile));
        const report = await engine.getReport(end.id);
        expect(report?.transform?.rows).toMatchObject({
          source: 6000,
          bad: 61,
          matches: true,
        });
        expect(report?.transform?.badRows?.[0]?.rows).toEqual(
          whole.counts.badRows.map(r => r.row),
        );
      },
    );
  });
});

import fs from 'node:fs/promises';
import path from 'node:path';
import { TestDatabases } from '@backstage/backend-test-utils';
import type {
  Mapping,
  TabularFormat,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { MigrationEngine } from './types';
import {
  WrappingBackend,
  actor,
  useTestEngines,
  waitForState,
  writeFile,
} from './__testUtils__/harness';
import {
  connect,
  openDuckDb,
  transformFile,
  type TransformFileResult,
} from '../transform/transformFile';

jest.setTimeout(120_000);

const mapping = (format: TabularFormat): Mapping => ({
  format,
  fields: [
    { from: 'id', to: 'order_id', cast: 'bigint' },
    { to: 'amount', cast: 'decimal(12,2)' },
    { to: 'note', cast: 'string' },
  ],
  keys: ['id'],
  badRows: 'quarantine',
});

/**
 * 600 rows (~30 KiB) with a BOM, quoted newlines, doubled quotes, unicode,
 * empty strings and a bad amount every 97 rows (~17 KiB): at 4 KiB parts, four
 * parts cut between records whose fields hold newlines.
 */
function ordersCsv(): string {
  const rows = ['\uFEFFid,amount,note'];
  for (let i = 1; i <= 600; i++) {
    const amount = i % 97 === 0 ? 'oops' : (i * 1.25).toFixed(2);
    let note = `n${i}`;
    if (i % 3 === 0) note = `"line ${i}\nsaid ""hi"", ünïcode"`;
    else if (i % 5 === 0) note = '""';
    rows.push(`${i},${amount},${note}`);
  }
  return `${rows.join('\n')}\n`;
}

/** What transforming the object whole gives: the output's bytes and counts. */
async function wholeTransform(
  root: string,
  format: TabularFormat,
): Promise<{ bytes: Buffer; counts: TransformFileResult; quarantine: string }> {
  const dir = path.join(root, 'whole');
  await fs.mkdir(dir, { recursive: true });
  const input = path.join(dir, 'orders.csv');
  await fs.writeFile(input, ordersCsv());
  const output = path.join(dir, `out.${format}`);
  const quarantineFile = path.join(dir, 'q.ndjson');
  const db = await openDuckDb({ threads: 1, memoryLimit: '128MB' });
  try {
    const counts = await transformFile(await connect(db), {
      input,
      sourceFormat: 'csv',
      output,
      targetFormat: format,
      mapping: mapping(format),
      key: 'orders.csv',
      quarantineFile,
      sampleSize: 20,
    });
    return {
      bytes: await fs.readFile(output),
      counts,
      quarantine: await fs.readFile(quarantineFile, 'utf8'),
    };
  } finally {
    db.closeSync();
  }
}

/** Every row of a Parquet file, in order, as JSON text. */
async function parquetRows(file: string) {
  const db = await openDuckDb({ threads: 1, memoryLimit: '128MB' });
  try {
    const reader = await (
      await connect(db)
    ).runAndReadAll(`SELECT * FROM read_parquet('${file}')`);
    return reader.getRowObjectsJson();
  } finally {
    db.closeSync();
  }
}

const readText = (file: string) => fs.readFile(file, 'utf8');

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs
    .readdir(dir, { recursive: true, withFileTypes: true })
    .catch(() => []);
  return entries
    .filter(e => e.isFile())
    .map(e => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('schema-transform of a large object in parts', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });
  const engines = useTestEngines(databases);

  const setup = (
    databaseId: string,
    options: Parameters<typeof engines.setup>[1] = {},
  ) =>
    engines.setup(databaseId, {
      ...options,
      config: {
        autoApprove: true,
        workers: { concurrency: 3, leaseSeconds: 2, pollIntervalMs: 20 },
        retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
        transform: {
          spillDirectory: path.join(engines.root, 'spill'),
          partMiB: 4 / 1024,
        },
        ...options.config,
      },
    });

  async function run(engine: MigrationEngine, format: TabularFormat) {
    const src = path.join(engines.root, 'src');
    const dst = path.join(engines.root, 'dst');
    const created = await engine.create(
      {
        dataset: 'resource:default/orders',
        target: { location: `file://${dst}` },
        strategy: 'schema-transform',
        mapping: mapping(format),
      },
      {
        ref: 'resource:default/orders',
        location: `file://${src}`,
        format: 'csv',
        consumers: [],
      },
      actor,
    );
    await engine.start();
    return waitForState(engine, created.id, ['succeeded', 'rolled-back']);
  }

  /** Records the source's ranged reads (a part's prefix and range). */
  const recordingReads = (
    reads: Array<{ start: number; end?: number }>,
    extra?: (range: { start: number; end?: number }) => Promise<unknown> | void,
  ) => ({
    wrap: (local: any) =>
      new WrappingBackend(local, {
        async onRead(key, range) {
          if (key !== 'orders.csv' || !range) return;
          reads.push(range);
          await extra?.(range);
        },
      }),
  });

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

    it('redoes a part whose read failed with a retryable error', async () => {
      const { root } = engines;
      await writeFile(path.join(root, 'src'), 'orders.csv', ordersCsv());
      const whole = await wholeTransform(root, 'csv');
      let failed = 0;
      const reads: Array<{ start: number; end?: number }> = [];
      const engine = await setup(
        databaseId,
        recordingReads(reads, range => {
          if (range.start > 10_000 && failed === 0) {
            failed += 1;
            throw Object.assign(new Error('socket hang up'), {
              code: 'ECONNRESET',
            });
          }
          return undefined;
        }),
      );
      const end = await run(engine, 'csv');
      expect(failed).toBe(1);
      expect(end.state).toBe('succeeded');
      expect(
        (await fs.readFile(path.join(root, 'dst', 'orders.csv'))).equals(
          whole.bytes,
        ),
      ).toBe(true);
    });

    it('stops with a drift error when the source changes after it was cut, and restores the target', async () => {
      const { root } = engines;
      const csv = ordersCsv();
      await writeFile(path.join(root, 'src'), 'orders.csv', csv);
      const original = 'id,amount,note\n1,1.00,the original\n';
      await writeFile(path.join(root, 'dst'), 'orders.csv', original);
      let mutation: Promise<void> | undefined;
      const engine = await setup(
        databaseId,
        recordingReads([], () => {
          // Same size, one byte of the last record changed, before any
          // part is read.
          mutation ??= writeFile(
            path.join(root, 'src'),
            'orders.csv',
            `${csv.slice(0, -3)}X${csv.slice(-2)}`,
          );
          return mutation;
        }),
      );
      const end = await run(engine, 'csv');
      expect(mutation).toBeDefined();
      expect(end.state).toBe('rolled-back');
      expect(end.reason).toMatch(
        /Source object 'orders\.csv' changed during the migration: bytes \d+–\d+ \(part \d+\) are not what was read when it was cut into parts/,
      );
      expect(
        await fs.readFile(path.join(root, 'dst', 'orders.csv'), 'utf8'),
      ).toBe(original);
    });

    it('rolls back a transform in parts whose assembled target fails validation', async () => {
      const { root } = engines;
      await writeFile(path.join(root, 'src'), 'orders.csv', ordersCsv());
      const original = 'id,amount,note\n1,1.00,the original\n';
      await writeFile(path.join(root, 'dst'), 'orders.csv', original);
      const engine = await setup(databaseId, {
        hooks: {
          async beforeValidate() {
            const file = path.join(root, 'dst', 'orders.csv');
            const text = await fs.readFile(file, 'utf8');
            await fs.writeFile(file, text.replace('\n3,', '\n4,'));
          },
        },
      });
      const end = await run(engine, 'csv');
      expect(end.state).toBe('rolled-back');
      expect(end.reason).toMatch(/^Validation failed: 1 object\(s\) differ/);
      expect(
        await fs.readFile(path.join(root, 'dst', 'orders.csv'), 'utf8'),
      ).toBe(original);
      const area = path.join(root, '.dataset-migration-backups', end.id);
      expect(
        (await filesUnder(area)).filter(f => f.includes('.staging')),
      ).toEqual([]);
    });
  });
});

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
  allEvents,
  createTestEngine,
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

/** The same orders as NDJSON, one object per line (newlines escaped). */
function ordersNdjson(): string {
  const lines: string[] = [];
  for (let i = 1; i <= 600; i++) {
    const amount = i % 97 === 0 ? 'oops' : (i * 1.25).toFixed(2);
    const note = i % 3 === 0 ? `line ${i}\nsaid "hi", ünïcode` : `n${i}`;
    lines.push(JSON.stringify({ id: i, amount, note }));
  }
  return `${lines.join('\n')}\n`;
}

/** What transforming the object whole gives: the output's bytes and counts. */
async function wholeTransform(
  root: string,
  format: TabularFormat,
  sourceFormat: TabularFormat = 'csv',
): Promise<{ bytes: Buffer; counts: TransformFileResult; quarantine: string }> {
  const dir = path.join(root, 'whole');
  await fs.mkdir(dir, { recursive: true });
  const input = path.join(dir, `orders.${sourceFormat}`);
  if (sourceFormat === 'parquet') {
    await fs.copyFile(path.join(root, 'src', 'orders.parquet'), input);
  } else {
    await fs.writeFile(
      input,
      sourceFormat === 'csv' ? ordersCsv() : ordersNdjson(),
    );
  }
  const output = path.join(dir, `out.${format}`);
  const quarantineFile = path.join(dir, 'q.ndjson');
  const db = await openDuckDb({ threads: 1, memoryLimit: '128MB' });
  try {
    const counts = await transformFile(await connect(db), {
      input,
      sourceFormat,
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

/** Orders as Parquet in row groups of 2,048 rows (6,000 rows: three). */
async function writeOrdersParquet(file: string, rows: number) {
  const db = await openDuckDb({ threads: 1, memoryLimit: '128MB' });
  try {
    await (
      await connect(db)
    ).run(
      `COPY (SELECT i::BIGINT AS id,
         CASE WHEN i % 97 = 0 THEN 'oops' ELSE printf('%.2f', i * 1.25) END AS amount,
         CASE WHEN i % 3 = 0 THEN 'line ' || i || chr(10) || 'ünïcode' ELSE NULL END AS note
       FROM range(1, ${rows + 1}) t(i) ORDER BY i)
       TO '${file}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 2048)`,
    );
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

  const configFor = () => ({
    autoApprove: true,
    workers: { concurrency: 3, leaseSeconds: 1, pollIntervalMs: 20 },
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
    transform: {
      spillDirectory: path.join(engines.root, 'spill'),
      partMiB: 4 / 1024,
    },
  });

  const setup = (
    databaseId: string,
    options: Parameters<typeof engines.setup>[1] = {},
  ) =>
    engines.setup(databaseId, {
      ...options,
      config: { ...configFor(), ...options.config },
    });

  async function create(
    engine: MigrationEngine,
    format: TabularFormat,
    sourceFormat: TabularFormat = 'csv',
  ) {
    const src = path.join(engines.root, 'src');
    const dst = path.join(engines.root, 'dst');
    return engine.create(
      {
        dataset: 'resource:default/orders',
        target: { location: `file://${dst}` },
        strategy: 'schema-transform',
        mapping: mapping(format),
      },
      {
        ref: 'resource:default/orders',
        location: `file://${src}`,
        format: sourceFormat,
        consumers: [],
      },
      actor,
    );
  }

  async function run(
    engine: MigrationEngine,
    format: TabularFormat,
    sourceFormat: TabularFormat = 'csv',
  ) {
    const created = await create(engine, format, sourceFormat);
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

    it("transforms whole a CSV whose quotes are not double quotes, and under badRows 'fail' names a bad row's part", async () => {
      const { root } = engines;
      // Single-quoted fields holding commas: counting double quotes would
      // not know where records end.
      const rows = ['id,amount,note'];
      for (let i = 1; i <= 600; i++) rows.push(`${i},${i}.50,'a, b ${i}'`);
      await writeFile(
        path.join(root, 'src'),
        'orders.csv',
        `${rows.join('\n')}\n`,
      );
      const reads: Array<{ start: number; end?: number }> = [];
      const engine = await setup(databaseId, recordingReads(reads));
      const end = await run(engine, 'csv');
      expect(end.state).toBe('succeeded');
      // Only the cut's look at the head: no part was read.
      expect(reads.filter(r => r.start > 0)).toEqual([]);
      expect(
        await fs.readFile(path.join(root, 'dst', 'orders.csv'), 'utf8'),
      ).toContain('1,1.50,"a, b 1"\n');

      await fs.rm(path.join(root, 'dst'), { recursive: true });
      await writeFile(path.join(root, 'src'), 'orders.csv', ordersCsv());
      const failing = await setup(databaseId);
      const created = await failing.create(
        {
          dataset: 'resource:default/orders',
          target: { location: `file://${path.join(root, 'dst')}` },
          strategy: 'schema-transform',
          mapping: { ...mapping('csv'), badRows: 'fail' },
        },
        {
          ref: 'resource:default/orders',
          location: `file://${path.join(root, 'src')}`,
          format: 'csv',
          consumers: [],
        },
        actor,
      );
      await failing.start();
      const failed = await waitForState(failing, created.id, [
        'succeeded',
        'rolled-back',
      ]);
      expect(failed.state).toBe('rolled-back');
      expect(failed.reason).toMatch(
        /Part \d of 4 of 'orders\.csv' failed: \d+ row\(s\) of 'orders\.csv' have values the mapping cannot cast; first: row \d+ .*\(part \d: rows are numbered from the part's first row, byte \d+ of the object\)/,
      );
      expect(await fs.readdir(path.join(root, 'dst')).catch(() => [])).toEqual(
        [],
      );
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

    it('stops with a drift error when a Parquet source is rewritten after it was cut', async () => {
      const { root } = engines;
      const file = path.join(root, 'src', 'orders.parquet');
      await fs.mkdir(path.dirname(file), { recursive: true });
      await writeOrdersParquet(file, 6000);
      let rewritten: Promise<void> | undefined;
      const engine = await setup(databaseId, {
        wrap: (local: any) =>
          new WrappingBackend(local, {
            async onRead(key, range) {
              // As the first part reads its row groups: the file is
              // replaced by another with one row more.
              if (key !== 'orders.parquet' || range?.start !== 4) return;
              rewritten ??= writeOrdersParquet(file, 6001);
              await rewritten;
            },
          }),
      });
      const end = await run(engine, 'csv', 'parquet');
      expect(rewritten).toBeDefined();
      expect(end.state).toBe('rolled-back');
      expect(end.reason).toMatch(
        /Source object 'orders\.parquet' changed during the migration/,
      );
      expect(await fs.readdir(path.join(root, 'dst')).catch(() => [])).toEqual(
        [],
      );
    });

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

    it('resumes after a crash: another replica redoes only the parts not done and assembles the object', async () => {
      const { root } = engines;
      await writeFile(path.join(root, 'src'), 'orders.csv', ordersCsv());
      const whole = await wholeTransform(root, 'csv');
      const knex = await databases.init(databaseId);
      const partsDone = async () =>
        (await knex('dm_parts').where('state', 'done').select('offset')).map(
          (r: any) => Number(r.offset),
        );
      /** Range reads by part start, per replica. */
      const reads = new Map<string, number>();
      let crash = () => Promise.resolve();
      let crashed: Promise<void> | undefined;
      const hung: Array<() => void> = [];
      let phase = 'crashing';
      const backend = (local: any) =>
        new WrappingBackend(local, {
          async onRead(key, range) {
            if (key !== 'orders.csv' || !range || range.start === 0) return;
            const id = `${phase}|${range.start}`;
            reads.set(id, (reads.get(id) ?? 0) + 1);
            if (phase !== 'crashing') return;
            if (!crashed && new Set(reads.keys()).size === 3) {
              // The last part starts once another is done: crash then.
              while ((await partsDone()).length === 0) {
                await new Promise(r => setTimeout(r, 10));
              }
              crashed = crash();
            }
            if (crashed) {
              await new Promise((_, reject) =>
                hung.push(() => reject(new Error('crashed'))),
              );
            }
          },
        });
      const first = await createTestEngine({
        knex,
        roots: [root],
        wrap: backend,
        workerId: 'crashing',
        config: configFor(),
      });
      crash = () => first.stop({ abandon: true });
      const m = await create(first, 'csv');
      await first.start();
      for (let i = 0; i < 500 && !crashed; i++) {
        await new Promise(r => setTimeout(r, 20));
      }
      await crashed;
      const doneAtCrash = await partsDone();
      expect(doneAtCrash.length).toBeGreaterThan(0);
      expect(doneAtCrash.length).toBeLessThan(4);

      phase = 'replacement';
      const second = await createTestEngine({
        knex,
        roots: [root],
        wrap: backend,
        workerId: 'replacement',
        config: configFor(),
      });
      try {
        await second.start();
        const end = await waitForState(second, m.id, [
          'succeeded',
          'rolled-back',
        ]);
        expect(end.state).toBe('succeeded');
        expect(
          await fs.readFile(path.join(root, 'dst', 'orders.csv'), 'utf8'),
        ).toBe(whole.bytes.toString());
        // Parts done before the crash were not read again.
        for (const offset of doneAtCrash.filter(o => o > 0)) {
          expect(reads.get(`replacement|${offset}`)).toBeUndefined();
        }
        expect([...reads.keys()].some(k => k.startsWith('replacement|'))).toBe(
          true,
        );
        const events = await allEvents(second, m.id);
        expect(
          events.some(
            ev =>
              ev.type === 'lease-reclaimed' && ev.details?.from === 'crashing',
          ),
        ).toBe(true);
      } finally {
        hung.forEach(fail => fail());
        await second.stop();
      }
    });
  });
});

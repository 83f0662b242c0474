import fs from 'node:fs/promises';
import path from 'node:path';
import type {
  Mapping,
  TabularFormat,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { MigrationEngine } from '../types';
import {
  WrappingBackend,
  actor,
  useTestEngines,
  waitForState,
} from './harness';

export { filesUnder } from './harness';
import {
  connect,
  openDuckDb,
  transformFile,
  type TransformFileResult,
} from '../../transform/transformFile';

/** Shared by the suites of transforms in parts (transformParts*.test.ts). */

export const mapping = (format: TabularFormat): Mapping => ({
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
export function ordersCsv(): string {
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
export function ordersNdjson(): string {
  const lines: string[] = [];
  for (let i = 1; i <= 600; i++) {
    const amount = i % 97 === 0 ? 'oops' : (i * 1.25).toFixed(2);
    const note = i % 3 === 0 ? `line ${i}\nsaid "hi", ünïcode` : `n${i}`;
    lines.push(JSON.stringify({ id: i, amount, note }));
  }
  return `${lines.join('\n')}\n`;
}

/** What transforming the object whole gives: the output's bytes and counts. */
export async function wholeTransform(
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
export async function writeOrdersParquet(file: string, rows: number) {
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
export async function parquetRows(file: string) {
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

export const readText = (file: string) => fs.readFile(file, 'utf8');

/**
 * Engines for the suites: a fresh root per test, 3 lanes, 4 KiB parts, and
 * helpers to create and run a transform of `src/orders.<format>` into
 * `dst`.
 */
export function useTransformPartsEngines(databases: {
  init(id: string): Promise<any>;
}) {
  const engines = useTestEngines(databases);

  const configFor = () => ({
    autoApprove: true,
    workers: { concurrency: 3, leaseSeconds: 2, pollIntervalMs: 20 },
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

  return { engines, configFor, setup, create, run, recordingReads };
}

import fs from 'node:fs/promises';
import path from 'node:path';
import { TestDatabases } from '@backstage/backend-test-utils';
import type { Mapping } from '@internal/backstage-plugin-dataset-migration-common';
import type { MigrationEngine } from './types';
import {
  WrappingBackend,
  actor,
  allEvents,
  hashTree,
  stateChanges,
  useTestEngines,
  waitForState,
  writeFile,
} from './__testUtils__/harness';
import { connect, openDuckDb } from '../transform/transformFile';

jest.setTimeout(120_000);

const mapping: Mapping = {
  format: 'parquet',
  fields: [
    { from: 'id', to: 'order_id', cast: 'bigint' },
    { to: 'amount', cast: 'decimal(12,2)' },
  ],
  keys: ['id'],
};

describe('schema-transform in the engine', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });
  const engines = useTestEngines(databases);
  let root: string;
  beforeEach(() => {
    root = engines.root;
  });

  const setup = (
    databaseId: string,
    options: Parameters<typeof engines.setup>[1] = {},
  ) =>
    engines.setup(databaseId, {
      ...options,
      config: {
        autoApprove: true,
        workers: { concurrency: 1, leaseSeconds: 2, pollIntervalMs: 20 },
        transform: { spillDirectory: path.join(root, 'spill') },
        ...options.config,
      },
    });

  const orders = (location: string) => ({
    ref: 'resource:default/orders',
    location,
    format: 'csv' as const,
    consumers: [],
  });

  const transformTo = (dst: string) => ({
    dataset: 'resource:default/orders',
    target: { location: `file://${dst}` },
    strategy: 'schema-transform' as const,
    mapping,
  });

  async function run(engine: MigrationEngine, src: string, dst: string) {
    const created = await engine.create(
      transformTo(dst),
      orders(`file://${src}`),
      actor,
    );
    await engine.start();
    return waitForState(engine, created.id, ['succeeded', 'rolled-back']);
  }

  describe.each(databases.eachSupportedId())('%p', databaseId => {
    it('rolls back automatically when a transformed target object is tampered with before validation', async () => {
      const src = path.join(root, 'src');
      const dst = path.join(root, 'dst');
      await writeFile(src, 'a.csv', 'id,amount\n1,2.50\n2,3\n');
      await writeFile(src, 'b.csv', 'id,amount\n3,4\n');
      await writeFile(dst, 'keep.txt', 'unrelated target content');
      const before = await hashTree(dst);
      const engine = await setup(databaseId, {
        hooks: {
          async beforeValidate() {
            // Same rows, one value changed: a valid file of the right schema.
            await fs.copyFile(
              path.join(dst, 'b.parquet'),
              path.join(dst, 'a.parquet'),
            );
          },
        },
      });
      const end = await run(engine, src, dst);
      expect(end.state).toBe('rolled-back');
      expect(end.reason).toMatch(
        /^Validation failed: 1 object\(s\) differ .*first: 'a\.csv': (size|sha256) \S+ differs from the transform's output (size|sha256)/,
      );
      expect(await hashTree(dst)).toEqual(before);
      const report = await engine.getReport(end.id);
      expect(report).toMatchObject({
        passed: false,
        objects: { checked: 2, mismatched: 1 },
        transform: {
          rows: { source: 3, expected: 3, target: 1, matches: false },
          sample: { compared: 3, mismatched: 2, matches: false },
        },
      });
      const changes = stateChanges(await allEvents(engine, end.id));
      expect(changes.slice(-3)).toEqual([
        'failed',
        'rolling-back',
        'rolled-back',
      ]);
      // Spill files never outlive their object.
      expect(await fs.readdir(path.join(root, 'spill'))).toEqual([]);
    });

    it('reports a target replaced by bytes DuckDB cannot read as a checksum mismatch, and rolls back', async () => {
      const src = path.join(root, 'src');
      const dst = path.join(root, 'dst');
      await writeFile(src, 'a.csv', 'id,amount\n1,2.50\n2,3\n');
      const engine = await setup(databaseId, {
        hooks: {
          async beforeValidate() {
            // Hashed while DuckDB reads it back: DuckDB fails on it, the
            // report says what differs.
            await fs.writeFile(path.join(dst, 'a.parquet'), 'not parquet');
          },
        },
      });
      const end = await run(engine, src, dst);
      expect(end.state).toBe('rolled-back');
      expect(end.reason).toMatch(
        /^Validation failed: 1 object\(s\) differ .*first: 'a\.csv': size 11 differs from the transform's output size \d+/,
      );
      expect(await fs.readdir(dst).catch(() => [])).toEqual([]);
    });

    it('stops with a drift error before cutover when a source object changes mid-run', async () => {
      const src = path.join(root, 'src');
      const dst = path.join(root, 'dst');
      await writeFile(src, 'a.csv', 'id,amount\n1,2.50\n');
      await writeFile(src, 'b.csv', 'id,amount\n3,4\n');
      let changed = false;
      const engine = await setup(databaseId, {
        wrap: local =>
          new WrappingBackend(local, {
            async onWrite(key) {
              if (key !== 'a.parquet' || changed) return;
              changed = true;
              // Same size, another column name: the schema drifted.
              await writeFile(src, 'b.csv', 'id,amounT\n3,4\n');
            },
          }),
      });
      const end = await run(engine, src, dst);
      expect(changed).toBe(true);
      expect(end.state).toBe('rolled-back');
      expect(end.reason).toMatch(
        /could not be copied; first: 'b\.csv': Source object 'b\.csv' (changed during the migration|no longer has the schema the plan was made with)/,
      );
      expect(await fs.readdir(dst).catch(() => [])).toEqual([]);
    });

    it('Parquet → NDJSON: 64-bit ids, decimals, UTC instants, nulls and newlines survive', async () => {
      const src = path.join(root, 'src');
      const dst = path.join(root, 'dst');
      await fs.mkdir(src, { recursive: true });
      const db = await openDuckDb({ threads: 1, memoryLimit: '128MB' });
      const conn = await connect(db);
      await conn.run(
        `COPY (SELECT * FROM (VALUES
           (9007199254740993::BIGINT, 12.30::DECIMAL(12,2), TIMESTAMPTZ '2026-01-02 03:04:05.123456+02', 'a\nb'),
           (2::BIGINT, NULL::DECIMAL(12,2), NULL::TIMESTAMPTZ, '')
         ) t(id, amount, created, note)) TO '${path.join(
           src,
           'part-0.parquet',
         )}' (FORMAT parquet)`,
      );
      conn.closeSync();
      db.closeSync();
      const engine = await setup(databaseId);
      const created = await engine.create(
        {
          dataset: 'resource:default/orders',
          target: { location: `file://${dst}` },
          strategy: 'schema-transform',
          mapping: {
            format: 'ndjson',
            fields: [{ from: 'id', to: 'order_id' }],
            keys: ['id'],
          },
        },
        { ...orders(`file://${src}`), format: 'parquet' },
        actor,
      );
      expect(created.plan!.transform!.sourceSchema).toEqual([
        { name: 'id', type: 'BIGINT' },
        { name: 'amount', type: 'DECIMAL(12,2)' },
        { name: 'created', type: 'TIMESTAMP WITH TIME ZONE' },
        { name: 'note', type: 'VARCHAR' },
      ]);
      await engine.start();
      const end = await waitForState(engine, created.id, [
        'succeeded',
        'rolled-back',
      ]);
      expect(end.reason).toBeUndefined();
      const lines = (await fs.readFile(path.join(dst, 'part-0.ndjson'), 'utf8'))
        .trim()
        .split('\n')
        .map(line =>
          JSON.parse(line, (key, value, context?: { source?: string }) =>
            key === 'order_id' ? context?.source : value,
          ),
        );
      expect(lines).toEqual([
        {
          order_id: '9007199254740993',
          amount: 12.3,
          created: '2026-01-02T01:04:05.123456Z',
          note: 'a\nb',
        },
        { order_id: '2', amount: null, created: null, note: '' },
      ]);
      const report = await engine.getReport(created.id);
      expect(report?.transform).toMatchObject({
        rows: { expected: 2, target: 2, matches: true },
        sample: { compared: 2, matches: true },
        schema: { matches: true },
      });
    });

    it('transforms an NDJSON dataset whose objects infer different JSON types', async () => {
      const src = path.join(root, 'src');
      const dst = path.join(root, 'dst');
      // In b, `amount` is null everywhere: DuckDB alone would infer another
      // type; the engine reads every object with the plan's schema.
      await writeFile(src, 'a.ndjson', '{"id": "1", "amount": "2.5"}\n');
      await writeFile(src, 'b.ndjson', '{"id": "2", "amount": null}\n');
      const engine = await setup(databaseId);
      const created = await engine.create(
        {
          dataset: 'resource:default/orders',
          target: { location: `file://${dst}` },
          strategy: 'schema-transform',
          mapping: { ...mapping, format: 'csv' },
        },
        { ...orders(`file://${src}`), format: 'ndjson' },
        actor,
      );
      await engine.start();
      const end = await waitForState(engine, created.id, [
        'succeeded',
        'rolled-back',
      ]);
      expect(end.reason).toBeUndefined();
      expect(end.state).toBe('succeeded');
      expect(await fs.readFile(path.join(dst, 'b.csv'), 'utf8')).toBe(
        'order_id,amount\n2,\n',
      );
    });

    it('refuses at plan time two source objects that would land on one target key, writing nothing', async () => {
      const src = path.join(root, 'src');
      const dst = path.join(root, 'dst');
      await writeFile(src, 'a.csv', 'id,amount\n1,2.5\n');
      // Copied as it is (not CSV), onto the key a.csv is transformed to.
      await writeFile(src, 'a.parquet', 'not parquet');
      await writeFile(src, 'b.CSV', 'id,amount\n2,1\n');
      await writeFile(src, 'b.csv', 'id,amount\n3,1\n');
      const engine = await setup(databaseId);
      await expect(
        engine.create(transformTo(dst), orders(`file://${src}`), actor),
      ).rejects.toMatchObject({
        name: 'InputError',
        message: expect.stringMatching(
          /^2 target key\(s\) would be written by two source objects \(.*'a\.csv' and 'a\.parquet' → 'a\.parquet'.*'b\.CSV' and 'b\.csv' → 'b\.parquet'/,
        ),
      });
      expect((await engine.list({ limit: 10, offset: 0 })).totalCount).toBe(0);
      await expect(fs.readdir(dst)).rejects.toThrow(/ENOENT/);
    });

    it("checks the data against the entity's declared schema at plan time", async () => {
      const src = path.join(root, 'src');
      const dst = path.join(root, 'dst');
      await writeFile(src, 'a.csv', 'id,amount\n1,2.5\n');
      const engine = await setup(databaseId);
      const request = transformTo(dst);
      await expect(
        engine.create(
          request,
          {
            ...orders(`file://${src}`),
            schemaText: '{"id": "bigint", "total": "decimal(12,2)"}',
          },
          actor,
        ),
      ).rejects.toThrow(
        "The dataset's declared schema (dataset-migration.io/schema) does not match 'a.csv' (declared but not in the data: total; in the data but not declared: amount); update the annotation or the data",
      );
      await expect(
        engine.create(
          request,
          { ...orders(`file://${src}`), schemaText: 'id: [not, a, type' },
          actor,
        ),
      ).rejects.toThrow(/annotation of resource:default\/orders is not YAML/);
      const planned = await engine.create(
        request,
        {
          ...orders(`file://${src}`),
          schemaText: '[{name: amount, type: float}, {name: id, type: bigint}]',
        },
        actor,
      );
      expect(planned.plan?.transform?.schemaFrom).toBe(
        'object a.csv, which has the columns and types the entity declares',
      );
      // Types are compared too: `2.5` is no integer.
      await expect(
        engine.create(
          request,
          {
            ...orders(`file://${src}`),
            schemaText: 'id: bigint\namount: integer\n',
          },
          actor,
        ),
      ).rejects.toThrow(
        'does not match \'a.csv\' (types: amount is declared integer but holds "2.5")',
      );
      expect((await engine.list({ limit: 10, offset: 0 })).totalCount).toBe(1);
      // A URL is not fetched: the plan reads the schema from the data.
      const byUrl = await engine.create(
        request,
        {
          ...orders(`file://${src}`),
          schemaText: 'https://schemas.example.com/orders.json',
        },
        actor,
      );
      expect(byUrl.plan?.transform?.schemaFrom).toBe('object a.csv');
    });

    it('moves a migration through its stages on wake-ups, not on the poll clock', async () => {
      const src = path.join(root, 'src');
      const dst = path.join(root, 'dst');
      await writeFile(src, 'a.csv', 'id,amount\n1,2.5\n');
      await writeFile(src, 'b.csv', 'id,amount\n2,3\n');
      // A poll interval far beyond the test's wait: only the engine's own
      // wake-ups (approval, last item of a stage done) can finish it.
      const engine = await setup(databaseId, {
        config: {
          autoApprove: true,
          workers: {
            concurrency: 1,
            leaseSeconds: 600,
            pollIntervalMs: 600_000,
          },
          transform: { spillDirectory: path.join(root, 'spill') },
        },
      });
      await engine.start();
      // The loop's first turn (at start) has passed before the migration exists.
      await new Promise(r => setTimeout(r, 200));
      const created = await engine.create(
        transformTo(dst),
        orders(`file://${src}`),
        actor,
      );
      const end = await waitForState(engine, created.id, ['succeeded'], 30_000);
      expect(end.state).toBe('succeeded');
    });
  });
});

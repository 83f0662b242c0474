import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import { InputError } from '@backstage/errors';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import type { DuckDBInstance } from '@duckdb/node-api';
import { createLocalStorageBackend } from '../storage/local/LocalStorageBackend';
import {
  DataKeyCounter,
  isDataKey,
  mappingHash,
  planTransform,
  targetKeyOf,
} from './planTransform';
import { openDuckDb } from './transformFile';

describe('planTransform', () => {
  let base: string;
  let db: DuckDBInstance;
  beforeAll(async () => {
    db = await openDuckDb({ threads: 1, memoryLimit: '128MB' });
  });
  beforeEach(async () => {
    base = await fs.realpath(
      await fs.mkdtemp(path.join(os.tmpdir(), 'dm-plan-transform-')),
    );
    await fs.mkdir(path.join(base, 'orders/2026'), { recursive: true });
    await fs.writeFile(
      path.join(base, 'orders/2026/01.csv'),
      'id,amount,created,ip\n1,1.50,2026-01-01T00:00:00Z,10.0.0.1\n',
    );
    await fs.writeFile(path.join(base, 'orders/_SUCCESS'), '');
  });
  afterEach(() => fs.rm(base, { recursive: true, force: true }));

  const source = () =>
    createLocalStorageBackend(
      new ConfigReader({
        datasetMigration: { storage: { local: { roots: [base] } } },
      }),
    ).open(parseLocation(`file://${base}/orders`));

  const count = (format: 'csv' | 'parquet', keys: string[]) => {
    const counter = new DataKeyCounter(format);
    keys.forEach(k => counter.add(k));
    return counter;
  };

  it('reads the source schema from the first data object and shows both schemas', async () => {
    const mapping = {
      format: 'parquet' as const,
      fields: [
        { from: 'id', to: 'order_id', cast: 'bigint' },
        { to: 'amount', cast: 'decimal(12,2)' },
      ],
      drop: ['ip'],
    };
    const plan = await planTransform({
      db,
      source: await source(),
      objects: count('csv', ['_SUCCESS', '2026/01.csv']),
      sourceFormat: 'csv',
      mapping,
      mappingSource: 'request',
      spillDirectory: path.join(base, 'spill'),
    });
    expect(plan).toMatchObject({
      mappingHash: mappingHash(mapping),
      sourceFormat: 'csv',
      targetFormat: 'parquet',
      schemaFrom: 'object 2026/01.csv',
      objects: { transformed: 1, copied: 1 },
      sourceSchema: [
        { name: 'id', type: 'VARCHAR' },
        { name: 'amount', type: 'VARCHAR' },
        { name: 'created', type: 'VARCHAR' },
        { name: 'ip', type: 'VARCHAR' },
      ],
      targetSchema: [
        { name: 'order_id', type: 'BIGINT' },
        { name: 'amount', type: 'DECIMAL(12,2)' },
        { name: 'created', type: 'VARCHAR' },
      ],
    });
    expect(plan.columns.map(c => c.change)).toEqual([
      'rename+cast',
      'cast',
      'keep',
      'drop',
    ]);
    // The spill file is gone.
    expect(await fs.readdir(path.join(base, 'spill'))).toEqual([]);
  });

  it('refuses, naming every problem, a mapping that does not fit', async () => {
    const attempt = planTransform({
      db,
      source: await source(),
      objects: count('csv', ['2026/01.csv']),
      sourceFormat: 'csv',
      mapping: {
        fields: [{ from: 'amount_eur', to: 'amount' }],
        keys: ['order'],
      },
      mappingSource: 'request',
    });
    await expect(attempt).rejects.toThrow(InputError);
    await expect(attempt).rejects.toThrow(
      /read from '2026\/01.csv'.*column 'amount_eur' is not in the source.*keys: column 'order'/,
    );
  });

  it('reads only the head of a large CSV or NDJSON object, and cut after a complete record', async () => {
    const store = await source();
    const reads: Array<unknown> = [];
    const counting = {
      location: store.location,
      backendId: store.backendId,
      capabilities: store.capabilities,
      list: store.list.bind(store),
      write: store.write.bind(store),
      delete: store.delete.bind(store),
      stat: store.stat.bind(store),
      read: (key: string, range?: unknown) => {
        reads.push(range ?? 'whole');
        return store.read(key, range as any);
      },
    };
    const body = Array.from({ length: 2000 }, (_, i) => `${i},x${i}\n`).join(
      '',
    );
    await fs.writeFile(path.join(base, 'orders/big.csv'), `id,name\n${body}`);
    const plan = await planTransform({
      db,
      source: counting,
      objects: count('csv', ['big.csv']),
      sourceFormat: 'csv',
      mapping: { fields: [{ from: 'id', to: 'id', cast: 'bigint' }] },
      mappingSource: 'request',
      headBytes: 1024,
    });
    expect(plan.sourceSchema.map(c => c.name)).toEqual(['id', 'name']);
    expect(reads).toEqual([{ start: 0, end: 1023 }]);

    // The head ends inside a quoted field that spans lines: it is cut
    // before that record, not inside it.
    reads.length = 0;
    await fs.writeFile(
      path.join(base, 'orders/quoted.csv'),
      `id,note\n0,"a ""quoted"" word"\n1,"${'line\n'.repeat(400)}"\n`,
    );
    const quoted = await planTransform({
      db,
      source: counting,
      objects: count('csv', ['quoted.csv']),
      sourceFormat: 'csv',
      mapping: {},
      mappingSource: 'request',
      headBytes: 1024,
    });
    expect(quoted.sourceSchema.map(c => c.name)).toEqual(['id', 'note']);
    expect(reads).toEqual([{ start: 0, end: 1023 }]);

    // No record ends within the head: the whole object is read.
    reads.length = 0;
    await fs.writeFile(
      path.join(base, 'orders/one-record.csv'),
      `"id","${'n'.repeat(2000)}"\n1,2\n`,
    );
    const wide = await planTransform({
      db,
      source: counting,
      objects: count('csv', ['one-record.csv']),
      sourceFormat: 'csv',
      mapping: {},
      mappingSource: 'request',
      headBytes: 1024,
    });
    expect(wide.sourceSchema).toHaveLength(2);
    expect(reads).toEqual([{ start: 0, end: 1023 }, 'whole']);
  });

  it('refuses a source with no object of its format', async () => {
    await expect(
      planTransform({
        db,
        source: await source(),
        objects: count('parquet', ['_SUCCESS']),
        sourceFormat: 'parquet',
        mapping: {},
        mappingSource: 'request',
      }),
    ).rejects.toThrow(/no parquet objects/);
  });

  it('names target keys after the target format and hashes mappings canonically', () => {
    expect(targetKeyOf('a/b.CSV', 'csv', 'parquet')).toBe('a/b.parquet');
    expect(targetKeyOf('x.jsonl', 'ndjson', 'csv')).toBe('x.csv');
    expect(isDataKey('part-0.parquet', 'parquet')).toBe(true);
    expect(isDataKey('_SUCCESS', 'csv')).toBe(false);
    expect(mappingHash({ drop: ['a'], badRows: 'skip' })).toBe(
      mappingHash({ badRows: 'skip', drop: ['a'] }),
    );
  });
});

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ConfigReader } from '@backstage/config';
import { ConflictError } from '@backstage/errors';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import {
  guardObjectStore,
  type ObjectInfo,
  type ObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';
import { createLocalStorageBackend } from '../storage/local/LocalStorageBackend';
import { localStoreOf, objectFile } from './spill';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('objectFile / localStoreOf: local objects read and written in place', () => {
  let base: string;
  let spill: string;
  let store: ObjectStore;

  beforeEach(async () => {
    base = await fs.realpath(
      await fs.mkdtemp(path.join(os.tmpdir(), 'dm-spill-test-')),
    );
    spill = path.join(base, 'spill');
    await fs.mkdir(path.join(base, 'data'), { recursive: true });
    await fs.mkdir(spill);
    const backend = createLocalStorageBackend(
      new ConfigReader({
        datasetMigration: { storage: { local: { roots: [base] } } },
      }),
    );
    // Wrapped as the engine wraps stores: in place still applies.
    store = guardObjectStore(
      await backend.open(parseLocation(`file://${base}/data`)),
      {},
    );
  });
  afterEach(() => fs.rm(base, { recursive: true, force: true }));

  it('hashes a local object where it is and makes no copy', async () => {
    await fs.writeFile(path.join(base, 'data/orders.csv'), 'id\n1\n');
    const file = await objectFile(
      store,
      'orders.csv',
      path.join(spill, 'source.csv'),
    );
    expect(file.file).toBe(path.join(base, 'data/orders.csv'));
    expect(await file.digest).toEqual({ size: 5, sha256: sha256('id\n1\n') });
    expect(await fs.readdir(spill)).toEqual([]);
    await expect(file.assertUnchanged()).resolves.toBeUndefined();
  });

  it('says when the object changed after it was hashed', async () => {
    const key = path.join(base, 'data/orders.csv');
    await fs.writeFile(key, 'id\n1\n');
    const file = await objectFile(
      store,
      'orders.csv',
      path.join(spill, 'source.csv'),
    );
    await fs.writeFile(key, 'id\n1\n2\n');
    await expect(file.assertUnchanged()).rejects.toThrow(ConflictError);
    await expect(file.assertUnchanged()).rejects.toThrow(
      /'orders.csv' changed while it was read/,
    );
  });

  it.each([
    ['a key DuckDB would take for a glob', 'orders[1].csv'],
    ['a key whose extension is not the format’s (compression)', 'x.csv.gz'],
  ])('spills %s instead', async (_what, key) => {
    await fs.writeFile(path.join(base, 'data', key), 'id\n1\n');
    const target = path.join(spill, 'source.csv');
    const file = await objectFile(store, key, target);
    expect(file.file).toBe(target);
    expect(await file.digest).toEqual({ size: 5, sha256: sha256('id\n1\n') });
    expect(await fs.readFile(target, 'utf8')).toBe('id\n1\n');
  });

  it('spills an object of any other store', async () => {
    const other: ObjectStore = {
      ...store,
      backendId: 'memory',
      async stat(): Promise<ObjectInfo | undefined> {
        return { key: 'o.csv', size: 5 };
      },
      read: async () => Readable.from([Buffer.from('id\n1\n')]),
    };
    expect(localStoreOf(other)).toBeUndefined();
    const target = path.join(spill, 'source.csv');
    const file = await objectFile(other, 'o.csv', target);
    expect(file.file).toBe(target);
    expect((await file.digest).sha256).toBe(sha256('id\n1\n'));
  });

  it('writes through a temp file beside the key: renamed into place, or removed when the writer fails', async () => {
    const local = localStoreOf(store)!;
    expect(local).toBeDefined();
    await local.writeFile('out/orders.parquet', async temp => {
      expect(path.dirname(temp)).toBe(path.join(base, 'data/out'));
      await fs.writeFile(temp, 'PAR1');
    });
    expect(
      await fs.readFile(path.join(base, 'data/out/orders.parquet'), 'utf8'),
    ).toBe('PAR1');
    await expect(
      local.writeFile('out/orders.parquet', async temp => {
        await fs.writeFile(temp, 'half');
        throw new Error('DuckDB failed');
      }),
    ).rejects.toThrow('DuckDB failed');
    expect(await fs.readdir(path.join(base, 'data/out'))).toEqual([
      'orders.parquet',
    ]);
    expect(
      await fs.readFile(path.join(base, 'data/out/orders.parquet'), 'utf8'),
    ).toBe('PAR1');
  });
});

import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import type { ObjectStore } from '@internal/backstage-plugin-dataset-migration-node';
import { createLocalStorageBackend } from '../storage/local/LocalStorageBackend';
import { tempRoot, writeFile } from './__testUtils__/harness';
import { planMigration } from './plan';

/** A store that counts its `stat` calls and may refuse to list. */
function counting(store: ObjectStore, options: { listFails?: boolean } = {}) {
  const calls = { stat: 0, list: 0 };
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'stat') {
        return (key: string) => {
          calls.stat += 1;
          return target.stat(key);
        };
      }
      if (prop === 'list') {
        return (...args: Parameters<ObjectStore['list']>) => {
          calls.list += 1;
          if (options.listFails) {
            return (async function* fails() {
              throw new Error('AccessDenied: s3:ListBucket');
            })();
          }
          return target.list(...args);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  return { store: wrapped, calls };
}

describe('planMigration overwrites', () => {
  let root: string;
  let open: (dir: string) => Promise<ObjectStore>;

  beforeEach(async () => {
    root = await tempRoot();
    const backend = createLocalStorageBackend(
      new ConfigReader({
        datasetMigration: { storage: { local: { roots: [root] } } },
      }),
    );
    open = dir => backend.open(parseLocation(`file://${path.join(root, dir)}`));
    for (let i = 0; i < 30; i++) {
      await writeFile(path.join(root, 'src'), `part=${i % 3}/f${i}.csv`, 'x');
    }
  });

  afterEach(() => fs.rm(root, { recursive: true, force: true }));

  async function plan(
    target: ObjectStore,
    options: { targetListingLimit?: number } = {},
  ) {
    return planMigration({
      source: await open('src'),
      target,
      consumers: [],
      concurrency: 4,
      ...options,
    });
  }

  it('finds no overwrites in a new target without a stat per key', async () => {
    const target = counting(await open('new-target'));
    const result = await plan(target.store);
    expect(result.overwrites).toEqual({ count: 0, sample: [] });
    expect(result.source.objectCount).toBe(30);
    expect(target.calls.stat).toBe(0);
  });

  it('finds overwrites from one listing of a small target', async () => {
    const dst = path.join(root, 'dst');
    await writeFile(dst, 'part=1/f4.csv', 'old');
    await writeFile(dst, 'part=2/f29.csv', 'old');
    await writeFile(dst, 'other/keep.txt', 'not in the source');
    await writeFile(dst, '.dataset-migration-backups/part=0/f0.csv', 'b');
    const target = counting(await open('dst'));
    const result = await plan(target.store);
    expect(result.overwrites).toEqual({
      count: 2,
      sample: ['part=1/f4.csv', 'part=2/f29.csv'],
    });
    expect(target.calls).toEqual({ stat: 0, list: 1 });
  });

  it.each([
    ['has more keys than the limit', { targetListingLimit: 2 }, {}],
    ['cannot be listed', {}, { listFails: true }],
  ])(
    'asks per key when the target %s',
    async (_name, planOptions, storeOptions) => {
      const dst = path.join(root, 'dst');
      await writeFile(dst, 'part=1/f4.csv', 'old');
      await writeFile(dst, 'part=2/f29.csv', 'old');
      await writeFile(dst, 'other/keep.txt', 'not in the source');
      const target = counting(await open('dst'), storeOptions);
      const result = await plan(target.store, planOptions);
      expect(result.overwrites).toEqual({
        count: 2,
        sample: ['part=1/f4.csv', 'part=2/f29.csv'],
      });
      expect(target.calls.stat).toBe(30);
    },
  );
});

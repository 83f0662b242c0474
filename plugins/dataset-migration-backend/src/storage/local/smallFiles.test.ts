import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ConfigReader } from '@backstage/config';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { createLocalStorageBackend } from './LocalStorageBackend';
import {
  SMALL_FILE_BYTES,
  SyncFileGuard,
  readWholeSync,
  syncFileGuard,
  writeWholeSync,
} from './smallFiles';
import { NotAllowedError } from '@backstage/errors';

describe('SyncFileGuard', () => {
  let clock = 0;
  const guard = () => new SyncFileGuard(() => clock);
  const timed = (g: SyncFileGuard, ms: number, kind: 'read' | 'write') =>
    g.run(kind, () => {
      clock += ms;
    });

  it('turns synchronous calls off when most recent ones are slow, then retries', () => {
    const g = guard();
    expect(g.allowed).toBe(true);
    // Half of a window slow (a descheduled thread now and then): still on.
    for (let i = 0; i < 32; i++) timed(g, i % 2 ? 5 : 0.05, 'write');
    expect(g.allowed).toBe(true);
    // Most of the next window slow (a network mount): off.
    for (let i = 0; i < 32; i++) timed(g, i < 17 ? 5 : 0.05, 'write');
    expect(g.allowed).toBe(false);
    clock += 59_000;
    expect(g.allowed).toBe(false);
    clock += 1_000;
    expect(g.allowed).toBe(true);
  });

  it('times reads and writes apart: slow writes among fast reads count', () => {
    const g = guard();
    // A mount that caches lookups but writes slowly: reads and writes
    // alternate, and the writes alone fill their window.
    for (let i = 0; i < 31; i++) {
      timed(g, 0.01, 'read');
      timed(g, 5, 'write');
    }
    expect(g.allowed).toBe(true);
    timed(g, 5, 'write');
    expect(g.allowed).toBe(false);
    // Slow reads turn it off just the same.
    const reads = guard();
    for (let i = 0; i < 32; i++) timed(reads, 3, 'read');
    expect(reads.allowed).toBe(false);
  });

  it('times a call that throws too, and passes its error and result on', () => {
    const g = guard();
    for (let i = 0; i < 31; i++) timed(g, 5, 'write');
    expect(() =>
      g.run('write', () => {
        clock += 5;
        throw new Error('EIO');
      }),
    ).toThrow('EIO');
    expect(g.allowed).toBe(false);
    expect(guard().run('read', () => 42)).toBe(42);
  });
});

describe('small local writes', () => {
  let root: string;

  beforeEach(async () => {
    root = await fs.realpath(
      await fs.mkdtemp(path.join(os.tmpdir(), 'dm-small-')),
    );
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('reads small files whole or in ranges; leaves large and missing ones to streams', async () => {
    await fs.writeFile(path.join(root, 'small'), '0123456789');
    const read = (key: string, range?: { start: number; end: number }) =>
      readWholeSync(root, key, path.join(root, key), range)?.toString();
    expect(read('small')).toBe('0123456789');
    expect(read('small', { start: 2, end: 4 })).toBe('234');
    expect(read('small', { start: 8, end: 100 })).toBe('89');
    expect(read('missing')).toBeUndefined();
    await fs.mkdir(path.join(root, 'folder'));
    expect(read('folder')).toBeUndefined();
    expect(read('small/below')).toBeUndefined();
    await fs.writeFile(
      path.join(root, 'large'),
      Buffer.alloc(SMALL_FILE_BYTES + 1),
    );
    expect(read('large')).toBeUndefined();
    // A symlink out of the folder is refused, not read.
    const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'dm-out-'));
    await fs.writeFile(path.join(outside, 'secret'), 'secret');
    await fs.symlink(path.join(outside, 'secret'), path.join(root, 'link'));
    expect(() => read('link')).toThrow(NotAllowedError);
    await fs.rm(outside, { recursive: true });
  });

  it('removes its temp file when the rename fails', async () => {
    await fs.mkdir(path.join(root, 'taken'));
    await fs.writeFile(path.join(root, 'taken', 'inner'), 'keep');
    expect(() =>
      writeWholeSync(
        path.join(root, 'taken'),
        path.join(root, '.taken.tmp'),
        new Uint8Array(Buffer.from('new')),
      ),
    ).toThrow(expect.objectContaining({ syscall: 'rename' }));
    expect(await fs.readdir(root)).toEqual(['taken']);
  });

  it('writes synchronously on a fast disk, and streams on a root found slow', async () => {
    const open = () =>
      createLocalStorageBackend(
        new ConfigReader({
          datasetMigration: { storage: { local: { roots: [root] } } },
        }),
      ).open(parseLocation(`file://${root}/data`));
    // Synchronous writes open their temp file with `openSync`.
    const sync = jest.spyOn(fsSync, 'openSync');
    const store = await open();
    await store.write('a/one.txt', Readable.from(['one']), { size: 3 });
    expect(sync).toHaveBeenCalledTimes(1);
    // A body longer than announced still lands whole, streamed.
    const big = Buffer.alloc(SMALL_FILE_BYTES + 1, 'x');
    await store.write('a/big.bin', Readable.from([big]));
    expect(sync).toHaveBeenCalledTimes(1);

    // The root's writes turn out slow (most of a window over 2 ms).
    const slow = syncFileGuard(root);
    for (let i = 0; i < 32; i++) {
      slow.run('write', () => {
        const until = performance.now() + 3;
        while (performance.now() < until);
      });
    }
    expect(slow.allowed).toBe(false);
    await store.write('a/two.txt', Readable.from(['two']), { size: 3 });
    expect(sync).toHaveBeenCalledTimes(1);
    expect(await fs.readFile(path.join(root, 'data/a/two.txt'), 'utf8')).toBe(
      'two',
    );
    expect(await store.stat('a/two.txt')).toMatchObject({ size: 3 });
    expect(await store.stat('a/missing.txt')).toBeUndefined();
    expect((await fs.readFile(path.join(root, 'data/a/big.bin'))).length).toBe(
      big.length,
    );
  });
});

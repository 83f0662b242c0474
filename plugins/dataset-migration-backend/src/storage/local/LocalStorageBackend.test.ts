import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ConfigReader } from '@backstage/config';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { createLocalStorageBackend } from './LocalStorageBackend';
import { SMALL_FILE_BYTES } from './smallFiles';

async function readAll(stream: Readable) {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

describe('createLocalStorageBackend', () => {
  let base: string;
  let root: string;
  let outside: string;

  beforeEach(async () => {
    base = await fs.realpath(
      await fs.mkdtemp(path.join(os.tmpdir(), 'dm-local-')),
    );
    root = path.join(base, 'root');
    outside = path.join(base, 'outside');
    await fs.mkdir(path.join(root, 'data/sub'), { recursive: true });
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'secret.txt'), 'secret');
    await fs.writeFile(path.join(root, 'data/a.txt'), 'A');
    await fs.writeFile(path.join(root, 'data/sub/b.txt'), 'BB');
  });

  afterEach(async () => {
    await fs.rm(base, { recursive: true, force: true });
  });

  const backend = () =>
    createLocalStorageBackend(
      new ConfigReader({
        datasetMigration: { storage: { local: { roots: [root] } } },
      }),
    );
  const open = (p: string) => backend().open(parseLocation(`file://${p}`));

  it('lists, stats, reads ranges and hides backups and temp files', async () => {
    const store = await open(`${root}/data`);
    await fs.mkdir(path.join(root, 'data/.dataset-migration-backups/m1'), {
      recursive: true,
    });
    await fs.writeFile(
      path.join(root, 'data/.dataset-migration-backups/m1/a.txt'),
      'old',
    );
    await fs.writeFile(
      path.join(root, 'data/sub/.b.txt.dm-tmp-123'),
      'partial',
    );
    const keys = [];
    for await (const o of store.list()) keys.push(`${o.key}:${o.size}`);
    expect(keys.sort()).toEqual(['a.txt:1', 'sub/b.txt:2']);
    expect(await store.stat('sub/b.txt')).toMatchObject({
      key: 'sub/b.txt',
      size: 2,
    });
    expect(await store.stat('missing')).toBeUndefined();
    expect(
      await readAll(await store.read('sub/b.txt', { start: 1, end: 1 })),
    ).toBe('B');
    await expect(store.read('missing')).rejects.toThrow(NotFoundError);
    await store.delete('missing');
  });

  it('refuses locations outside the roots, and everything without roots', async () => {
    await expect(open(outside)).rejects.toThrow(NotAllowedError);
    // parseLocation already refuses '..'; the backend must not rely on it.
    await expect(
      backend().open({
        uri: 'file:///x',
        scheme: 'file',
        bucket: '',
        path: `${root}/../outside`,
      }),
    ).rejects.toThrow(/outside the allowed local roots/);
    await expect(open(`${base}/root-sibling`)).rejects.toThrow(NotAllowedError);
    await fs.symlink(outside, path.join(root, 'escape'));
    await expect(open(`${root}/escape`)).rejects.toThrow(NotAllowedError);
    await expect(
      createLocalStorageBackend(new ConfigReader({})).open(
        parseLocation(`file://${root}`),
      ),
    ).rejects.toThrow(/configure datasetMigration.storage.local.roots/);
  });

  it('refuses keys with traversal, absolute paths and escaping symlinks', async () => {
    const store = await open(`${root}/data`);
    await expect(store.read('../outside/secret.txt')).rejects.toThrow(
      InputError,
    );
    await expect(store.stat('/etc/passwd')).rejects.toThrow(InputError);
    await expect(
      store.write('a/../../x', Readable.from(['x'])),
    ).rejects.toThrow(InputError);
    await fs.symlink(outside, path.join(root, 'data/link'));
    await fs.symlink(
      path.join(outside, 'secret.txt'),
      path.join(root, 'data/file-link'),
    );
    await expect(store.read('link/secret.txt')).rejects.toThrow(
      NotAllowedError,
    );
    await expect(store.read('file-link')).rejects.toThrow(NotAllowedError);
    await expect(
      store.write('link/new.txt', Readable.from(['x'])),
    ).rejects.toThrow(NotAllowedError);
    await expect(fs.stat(path.join(outside, 'new.txt'))).rejects.toThrow(
      /ENOENT/,
    );
    const listing = async () => {
      for await (const _ of store.list()) {
        // drain
      }
    };
    await expect(listing()).rejects.toThrow(NotAllowedError);
  });

  it('stat refuses an escaping file symlink and says nothing of what is missing outside', async () => {
    const store = await open(`${root}/data`);
    await fs.symlink(
      path.join(outside, 'secret.txt'),
      path.join(root, 'data/file-link'),
    );
    await fs.symlink(outside, path.join(root, 'data/link'));
    await expect(store.stat('file-link')).rejects.toThrow(NotAllowedError);
    await expect(store.stat('link/secret.txt')).rejects.toThrow(
      NotAllowedError,
    );
    expect(await store.stat('link/no-such-file')).toBeUndefined();
    expect(await store.stat('sub/none/deeper.txt')).toBeUndefined();
  });

  it('checks a folder it wrote into before again on every write', async () => {
    const store = await open(`${root}/data`);
    await store.write('new/one.txt', Readable.from(['1']));
    // A racing process swaps the folder for a symlink that leaves.
    await fs.rm(path.join(root, 'data/new'), { recursive: true });
    await fs.symlink(outside, path.join(root, 'data/new'));
    await expect(
      store.write('new/two.txt', Readable.from(['2'])),
    ).rejects.toThrow(NotAllowedError);
    await expect(fs.stat(path.join(outside, 'two.txt'))).rejects.toThrow(
      /ENOENT/,
    );
    // A folder removed since (a rollback removes emptied folders) is made again.
    await fs.rm(path.join(root, 'data/new'));
    await store.write('deep/a/b.txt', Readable.from(['b']));
    await store.delete('deep/a/b.txt');
    await expect(fs.stat(path.join(root, 'data/deep'))).rejects.toThrow(
      /ENOENT/,
    );
    await store.write('deep/a/c.txt', Readable.from(['c']));
    expect(
      await fs.readFile(path.join(root, 'data/deep/a/c.txt'), 'utf8'),
    ).toBe('c');
  });

  it('checks a remembered folder swapped for another one in full again', async () => {
    const store = await open(`${root}/data`);
    await store.write('moved/one.txt', Readable.from(['1']));
    // Swapped for a symlink to another folder inside the dataset: allowed,
    // and the write lands there.
    await fs.mkdir(path.join(root, 'data/elsewhere'));
    await fs.rm(path.join(root, 'data/moved'), { recursive: true });
    await fs.symlink(
      path.join(root, 'data/elsewhere'),
      path.join(root, 'data/moved'),
    );
    await store.write('moved/two.txt', Readable.from(['2']));
    expect(
      await fs.readFile(path.join(root, 'data/elsewhere/two.txt'), 'utf8'),
    ).toBe('2');
    // Then for one that leaves: refused, though the folder was remembered.
    await fs.rm(path.join(root, 'data/moved'));
    await fs.symlink(outside, path.join(root, 'data/moved'));
    await expect(
      store.write('moved/three.txt', Readable.from(['3'])),
    ).rejects.toThrow(NotAllowedError);
    await expect(fs.stat(path.join(outside, 'three.txt'))).rejects.toThrow(
      /ENOENT/,
    );
  });

  it('streams a body over the small-write size to its file, with the same checks and atomicity', async () => {
    const store = await open(`${root}/data`);
    const big = Buffer.alloc(SMALL_FILE_BYTES * 3, 'b');
    // Read whole up to SMALL_FILE_BYTES, then streamed on: nothing lost at the seam.
    const pieces = [
      big.subarray(0, SMALL_FILE_BYTES - 10),
      big.subarray(SMALL_FILE_BYTES - 10),
    ];
    expect(await store.write('big/one.bin', Readable.from(pieces))).toEqual({
      size: big.length,
      checksums: {},
    });
    expect(await fs.readFile(path.join(root, 'data/big/one.bin'))).toEqual(big);
    // A failure past the first SMALL_FILE_BYTES leaves the old object, no temp file.
    const failing = new Readable({
      read() {
        this.push(big);
        this.destroy(new Error('connection lost'));
      },
    });
    await expect(store.write('big/one.bin', failing)).rejects.toThrow(
      'connection lost',
    );
    expect(await fs.readdir(path.join(root, 'data/big'))).toEqual(['one.bin']);
    expect((await fs.stat(path.join(root, 'data/big/one.bin'))).size).toBe(
      big.length,
    );
    // The folder swapped for a symlink that leaves: refused.
    await fs.rm(path.join(root, 'data/big'), { recursive: true });
    await fs.symlink(outside, path.join(root, 'data/big'));
    await expect(
      store.write('big/two.bin', Readable.from([big]), { size: big.length }),
    ).rejects.toThrow(NotAllowedError);
    expect(await fs.readdir(outside)).toEqual(['secret.txt']);
  });

  it('writes atomically: a failed write leaves the old object and no temp file', async () => {
    const store = await open(`${root}/data`);
    const failing = new Readable({
      read() {
        this.push('half of the new ');
        this.destroy(new Error('connection lost'));
      },
    });
    await expect(store.write('a.txt', failing)).rejects.toThrow(
      'connection lost',
    );
    expect(await fs.readFile(path.join(root, 'data/a.txt'), 'utf8')).toBe('A');
    expect(await fs.readdir(path.join(root, 'data'))).toEqual(['a.txt', 'sub']);

    const result = await store.write(
      'new/deep/c.txt',
      Readable.from(['hello ', 'world']),
    );
    expect(result.size).toBe(11);
    expect(
      await fs.readFile(path.join(root, 'data/new/deep/c.txt'), 'utf8'),
    ).toBe('hello world');

    const target = await open(`${root}/copy`);
    expect(await target.copyWithin!(store, 'sub/b.txt', 'x/b.txt')).toEqual({
      size: 2,
      checksums: {},
    });
    expect(await fs.readFile(path.join(root, 'copy/x/b.txt'), 'utf8')).toBe(
      'BB',
    );
    await target.delete('x/b.txt');
    // Folders created for the object go with it.
    expect(await fs.readdir(path.join(root, 'copy'))).toEqual([]);
  });
});

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ConfigReader } from '@backstage/config';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import type {
  ObjectStore,
  PartedWrites,
} from '@internal/backstage-plugin-dataset-migration-node';
import { createLocalStorageBackend } from './LocalStorageBackend';

async function readAll(stream: Readable) {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

async function listKeys(store: ObjectStore) {
  const keys: string[] = [];
  for await (const o of store.list()) keys.push(`${o.key}:${o.size}`);
  return keys.sort();
}

/** Every file under `dir`, relative, temp files included. */
async function filesUnder(dir: string) {
  const entries = await fs.readdir(dir, {
    recursive: true,
    withFileTypes: true,
  });
  return entries
    .filter(e => !e.isDirectory())
    .map(e => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe('LocalObjectStore parts', () => {
  let base: string;
  let root: string;
  let outside: string;

  beforeEach(async () => {
    base = await fs.realpath(
      await fs.mkdtemp(path.join(os.tmpdir(), 'dm-local-parts-')),
    );
    root = path.join(base, 'root');
    outside = path.join(base, 'outside');
    await fs.mkdir(path.join(root, 'data'), { recursive: true });
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'secret.txt'), 'secret');
  });

  afterEach(async () => {
    await fs.rm(base, { recursive: true, force: true });
  });

  /** A store opened by a backend of its own, as another replica would. */
  const open = async () => {
    const backend = createLocalStorageBackend(
      new ConfigReader({
        datasetMigration: { storage: { local: { roots: [root] } } },
      }),
    );
    const store = await backend.open(parseLocation(`file://${root}/data`));
    expect(store.parts).toBeDefined();
    return { store, parts: store.parts as PartedWrites };
  };

  it('writes the parts of one upload from two store instances', async () => {
    const a = await open();
    const b = await open();
    expect(a.parts.partSizeMultiple).toBe(1);
    expect(a.parts.maxSize).toBe(Number.MAX_SAFE_INTEGER);
    const uploadId = await a.parts.begin('x/y.txt', { size: 10 });
    // The temp file is sized up front, beside the key, named as a temp file.
    const temp = path.join(root, 'data/x', uploadId);
    expect((await fs.stat(temp)).size).toBe(10);
    expect(uploadId).toMatch(/^\.y\.txt\.dm-tmp-/);

    const part3 = await b.parts.writePart(
      'x/y.txt',
      uploadId,
      { number: 3, offset: 8, size: 2 },
      Readable.from(['89']),
    );
    const [part1, part2] = await Promise.all([
      a.parts.writePart(
        'x/y.txt',
        uploadId,
        { number: 1, offset: 0, size: 4 },
        Readable.from(['01', '23']),
      ),
      b.parts.writePart(
        'x/y.txt',
        uploadId,
        { number: 2, offset: 4, size: 4 },
        Readable.from([Buffer.from('4567')]),
      ),
    ]);
    expect([part1.size, part2.size, part3.size]).toEqual([4, 4, 2]);
    expect(await a.store.stat('x/y.txt')).toBeUndefined();

    const result = await b.parts.complete('x/y.txt', uploadId, [
      { number: 1, token: part1.token },
      { number: 2, token: part2.token },
      { number: 3, token: part3.token },
    ]);
    expect(result).toEqual({ size: 10, checksums: {} });
    expect(await readAll(await a.store.read('x/y.txt'))).toBe('0123456789');
    expect(await filesUnder(path.join(root, 'data'))).toEqual(['x/y.txt']);
  });

  it('refuses invalid and traversing upload ids with InputError, writing nothing', async () => {
    const { store, parts } = await open();
    const uploadId = await parts.begin('k.bin', { size: 4 });
    const before = await filesUnder(base);
    const bad = [
      '',
      '.',
      '..',
      'plain',
      '.k.bin',
      `../${uploadId}`,
      `data/${uploadId}`,
      `${uploadId}/..`,
      `..\\${uploadId}`,
      `${uploadId}\0`,
      path.join(root, 'data', uploadId),
      '../outside/secret.txt',
      `.k.bin.dm-tmp-0123456789ab`, // a plain write's temp file
      `.k.bin.dm-tmp-p4-${'0'.repeat(23)}`,
    ];
    const part = { number: 1, offset: 0, size: 4 };
    for (const id of bad) {
      await expect(
        parts.writePart('k.bin', id, part, Readable.from(['abcd'])),
      ).rejects.toBeInstanceOf(InputError);
      await expect(
        parts.complete('k.bin', id, [{ number: 1, token: '0+4' }]),
      ).rejects.toBeInstanceOf(InputError);
      await expect(parts.abort('k.bin', id)).rejects.toBeInstanceOf(InputError);
    }
    // Traversing keys, in every method.
    for (const key of ['../outside/secret.txt', 'a/../../x', '/abs']) {
      await expect(parts.begin(key, { size: 1 })).rejects.toBeInstanceOf(
        InputError,
      );
      await expect(
        parts.writePart(key, uploadId, part, Readable.from(['abcd'])),
      ).rejects.toBeInstanceOf(InputError);
      await expect(parts.abort(key, uploadId)).rejects.toBeInstanceOf(
        InputError,
      );
    }
    expect(await filesUnder(base)).toEqual(before);
    expect(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe(
      'secret',
    );
    expect(await listKeys(store)).toEqual([]);
  });

  it('treats the upload of another key, or a gone folder, as missing', async () => {
    const { parts } = await open();
    const uploadId = await parts.begin('dir/a.bin', { size: 1 });
    const written = await parts.writePart(
      'dir/a.bin',
      uploadId,
      { number: 1, offset: 0, size: 1 },
      Readable.from(['a']),
    );
    const list = [{ number: 1, token: written.token }];
    for (const key of ['dir/b.bin', 'other/a.bin', 'a.bin']) {
      await expect(parts.complete(key, uploadId, list)).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await expect(parts.abort(key, uploadId)).resolves.toBeUndefined();
    }
    expect(await fs.readdir(path.join(root, 'data/dir'))).toEqual([uploadId]);
    expect(await fs.stat(path.join(root, 'data/other')).catch(() => 0)).toBe(0);
    await parts.complete('dir/a.bin', uploadId, list);
    expect(await fs.readdir(path.join(root, 'data/dir'))).toEqual(['a.bin']);
  });

  it('hides the temp file from listings; removeTemporaryFiles sweeps it', async () => {
    const { store, parts } = await open();
    await store.write('kept.txt', Readable.from(['kept']), { size: 4 });
    const uploadId = await parts.begin('sub/big.bin', { size: 6 });
    await parts.writePart(
      'sub/big.bin',
      uploadId,
      { number: 1, offset: 0, size: 3 },
      Readable.from(['abc']),
    );
    expect(await listKeys(store)).toEqual(['kept.txt:4']);
    expect(await store.stat('sub/big.bin')).toBeUndefined();
    expect(await filesUnder(path.join(root, 'data'))).toEqual([
      'kept.txt',
      path.join('sub', uploadId),
    ]);

    expect(await store.removeTemporaryFiles!()).toBe(1);
    expect(await filesUnder(path.join(root, 'data'))).toEqual(['kept.txt']);
    await expect(
      parts.writePart(
        'sub/big.bin',
        uploadId,
        { number: 2, offset: 3, size: 3 },
        Readable.from(['def']),
      ),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      parts.complete('sub/big.bin', uploadId, [{ number: 1, token: '0+6' }]),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('checks parts, tokens and coverage; keeps the upload when refusing', async () => {
    const { store, parts } = await open();
    const uploadId = await parts.begin('c.bin', { size: 6 });
    const write = (number: number, offset: number, size: number, s: string) =>
      parts.writePart(
        'c.bin',
        uploadId,
        { number, offset, size },
        Readable.from([s]),
      );
    // Past the end of the object; invalid ranges.
    await expect(write(2, 4, 3, 'xyz')).rejects.toBeInstanceOf(InputError);
    await expect(write(0, 0, 1, 'x')).rejects.toBeInstanceOf(InputError);
    await expect(write(1, -1, 1, 'x')).rejects.toBeInstanceOf(InputError);
    // Longer and shorter bodies; nothing is written past the part.
    const one = await write(1, 0, 3, 'abc');
    await expect(write(1, 0, 3, 'abcXYZ')).rejects.toBeInstanceOf(InputError);
    await expect(write(1, 0, 3, 'ab')).rejects.toBeInstanceOf(InputError);
    const temp = path.join(root, 'data', uploadId);
    expect((await fs.readFile(temp)).subarray(3)).toEqual(Buffer.alloc(3));
    const two = await write(2, 3, 3, 'def');
    await write(1, 0, 3, 'abc');

    for (const list of [
      [{ number: 1, token: one.token }], // a gap at the end
      [{ number: 2, token: two.token }], // a gap at the start
      [
        { number: 1, token: one.token },
        { number: 1, token: one.token },
        { number: 2, token: two.token },
      ],
      [
        { number: 1, token: '' },
        { number: 2, token: two.token },
      ],
      [
        { number: 1, token: 'etag' },
        { number: 2, token: two.token },
      ],
    ]) {
      await expect(
        parts.complete('c.bin', uploadId, list),
      ).rejects.toBeInstanceOf(InputError);
    }
    expect(await store.stat('c.bin')).toBeUndefined();
    // In any order: complete sorts by number.
    await parts.complete('c.bin', uploadId, [
      { number: 2, token: two.token },
      { number: 1, token: one.token },
    ]);
    expect(await readAll(await store.read('c.bin'))).toBe('abcdef');
  });

  it('honours abort signals and writes nothing through a symlinked temp file', async () => {
    const { store, parts } = await open();
    const aborted = AbortSignal.abort();
    await expect(
      parts.begin('s.bin', { size: 3, signal: aborted }),
    ).rejects.toThrow();
    expect(await filesUnder(path.join(root, 'data'))).toEqual([]);

    const uploadId = await parts.begin('s.bin', { size: 3 });
    await expect(
      parts.writePart(
        's.bin',
        uploadId,
        { number: 1, offset: 0, size: 3 },
        Readable.from(['abc']),
        { signal: aborted },
      ),
    ).rejects.toThrow();
    await expect(
      parts.complete('s.bin', uploadId, [{ number: 1, token: '0+3' }], {
        signal: aborted,
      }),
    ).rejects.toThrow();
    expect(await store.stat('s.bin')).toBeUndefined();

    // Another process swaps the temp file for a symlink out of the folder.
    const temp = path.join(root, 'data', uploadId);
    await fs.rm(temp);
    await fs.symlink(path.join(outside, 'secret.txt'), temp);
    await expect(
      parts.writePart(
        's.bin',
        uploadId,
        { number: 1, offset: 0, size: 3 },
        Readable.from(['abc']),
      ),
    ).rejects.toBeInstanceOf(NotAllowedError);
    await expect(
      parts.complete('s.bin', uploadId, [{ number: 1, token: '0+3' }]),
    ).rejects.toBeInstanceOf(NotAllowedError);
    expect(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe(
      'secret',
    );
    await parts.abort('s.bin', uploadId);
    expect(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe(
      'secret',
    );
    expect(await filesUnder(path.join(root, 'data'))).toEqual([]);
  });
});

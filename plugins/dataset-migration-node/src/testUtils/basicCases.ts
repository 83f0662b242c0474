import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ObjectStore } from '../storage';
import type { DefineCase, ResolvedContext } from './conformance';
import { generatedStream, hashStream } from './data';
import { expectRightChecksums, listAll, MiB, readAll, unique } from './support';

/** Reads, writes, listing, ranges, missing objects, overwrite, copy. */
export function basicCases(define: DefineCase, context: () => ResolvedContext) {
  // Stores that know checksums without reading (capabilities.checksums)
  // must report them; any checksum reported by any store must be right.
  const known = (store: ObjectStore) => store.capabilities.checksums.length > 0;

  define(
    'basic',
    'writes, stats and reads an object with correct checksums',
    async () => {
      const store = await context().open(unique('basic'));
      const data = randomBytes(100_003);
      const result = await store.write('a/b.bin', Readable.from([data]), {
        size: data.length,
        contentType: 'application/octet-stream',
      });
      expect(result.size).toBe(data.length);
      expectRightChecksums(result.checksums, data, known(store));
      const info = await store.stat('a/b.bin');
      expect(info).toMatchObject({ key: 'a/b.bin', size: data.length });
      expectRightChecksums(info!.checksums, data, known(store));
      expect((await readAll(await store.read('a/b.bin'))).equals(data)).toBe(
        true,
      );
    },
  );

  define('zero-byte', 'handles zero-byte objects', async () => {
    const store = await context().open(unique('empty'));
    const result = await store.write('empty', Readable.from([]), { size: 0 });
    expect(result.size).toBe(0);
    expectRightChecksums(result.checksums, Buffer.alloc(0), known(store));
    const unsized = await store.write('empty-unsized', Readable.from([]));
    expect(unsized.size).toBe(0);
    expectRightChecksums(unsized.checksums, Buffer.alloc(0), known(store));
    expect(await store.stat('empty')).toMatchObject({ size: 0 });
    expectRightChecksums(
      (await store.stat('empty'))!.checksums,
      Buffer.alloc(0),
      known(store),
    );
    expect((await readAll(await store.read('empty'))).length).toBe(0);
    expect(await listAll(store)).toEqual(
      new Map([
        ['empty', 0],
        ['empty-unsized', 0],
      ]),
    );
  });

  define(
    'list-pages',
    'lists across page boundaries, with odd keys, staying inside the prefix',
    async () => {
      const ctx = context();
      const prefix = unique('list');
      const store = await ctx.open(prefix);
      const sibling = await ctx.open(`${prefix}-sibling`);
      await sibling.write('not-mine', Readable.from(['x']), { size: 1 });
      const keys = [
        'with space.txt',
        'ünïcødé/日本語/файл ♫.csv',
        'deep/a/b/c/d/e/f/g/h/leaf',
        'part/year=2026/month=01/0.parquet',
        'plus+and%percent&amp=.bin',
        // Keys around a folder `p/`, with characters below and above `/`
        // and `.`: S3 lists in UTF-8 byte order whatever a backend's on-disk
        // order is, and no page boundary among them may lose a key.
        'p#1',
        'p-1',
        'p.1',
        'p/1',
        'p/2',
        'p0',
        'p~',
      ];
      const count = ctx.listPageSize * 2 + 3;
      for (let i = keys.length; i < count; i++) {
        keys.push(`many/${String(i).padStart(4, '0')}`);
      }
      const expected = new Map<string, number>();
      await Promise.all(
        keys.map(async (key, i) => {
          const body = Buffer.alloc(i % 3, 'z');
          await store.write(key, Readable.from([body]), { size: body.length });
          expected.set(key, body.length);
        }),
      );
      expect(await listAll(store)).toEqual(expected);
      expect(await listAll(sibling)).toEqual(new Map([['not-mine', 1]]));
      expect(
        (await readAll(await store.read('ünïcødé/日本語/файл ♫.csv'))).length,
      ).toBe(1);
    },
  );

  define('ranges', 'reads byte ranges', async () => {
    const store = await context().open(unique('ranges'));
    const data = randomBytes(10_000);
    await store.write('r', Readable.from([data]), { size: data.length });
    for (const [start, end] of [
      [0, 0],
      [100, 199],
      [9_990, 9_999],
      [0, 9_999],
    ]) {
      const part = await readAll(await store.read('r', { start, end }));
      expect(part.equals(data.subarray(start, end + 1))).toBe(true);
    }
  });

  define(
    'missing',
    'treats missing objects as the interface says',
    async () => {
      const store = await context().open(unique('missing'));
      expect(await store.stat('nope')).toBeUndefined();
      await expect(store.read('nope')).rejects.toMatchObject({
        name: 'NotFoundError',
      });
      await expect(store.delete('nope')).resolves.toBeUndefined();
      await expect(store.delete('no/such/dir/key')).resolves.toBeUndefined();
      await store.write('gone', Readable.from(['x']), { size: 1 });
      await store.delete('gone');
      expect(await store.stat('gone')).toBeUndefined();
      await expect(store.delete('gone')).resolves.toBeUndefined();
      expect(await listAll(store)).toEqual(new Map());
    },
  );

  define(
    'overwrite',
    'overwrites, and accepts bodies of unknown length',
    async () => {
      const store = await context().open(unique('overwrite'));
      await store.write('k', Readable.from(['first']), { size: 5 });
      const data = randomBytes(3 * MiB + 5);
      const result = await store.write('k', Readable.from([data]));
      expect(result.size).toBe(data.length);
      expectRightChecksums(result.checksums, data, known(store));
      expect((await readAll(await store.read('k'))).equals(data)).toBe(true);
      expect(await listAll(store)).toEqual(new Map([['k', data.length]]));
    },
  );

  define('escape', 'refuses keys that escape the prefix', async () => {
    const store = await context().open(unique('keys'));
    for (const key of ['../other', 'a/../../other', '/abs', 'a//b', './a']) {
      await expect(store.stat(key)).rejects.toMatchObject({
        name: 'InputError',
      });
    }
  });

  define(
    'large',
    'writes a 64 MiB object (multipart / resumable where the store has it), bytes equal',
    async () => {
      const ctx = context();
      const store = await ctx.open(unique('large'));
      const size = 64 * MiB;
      const before = ctx.partRequests?.();
      const expected = await hashStream(generatedStream(size, 42));
      const result = await store.write('big.bin', generatedStream(size, 42), {
        size,
      });
      if (ctx.partRequests) {
        expect(ctx.partRequests() - before!).toBeGreaterThanOrEqual(2);
      }
      expect(result.size).toBe(size);
      expect(result.checksums.sha256 ?? expected.sha256).toBe(expected.sha256);
      expect(await store.stat('big.bin')).toMatchObject({ size });
      expect(await hashStream(await store.read('big.bin'))).toEqual(expected);
    },
    180_000,
  );

  define(
    'copy',
    'copies server-side between stores of the same backend',
    async () => {
      const ctx = context();
      const prefix = unique('copy');
      const source = await ctx.open(`${prefix}/src`);
      const target = await ctx.open(`${prefix}/dst`);
      const data = randomBytes(200_000);
      await source.write('o b.bin', Readable.from([data]), {
        size: data.length,
      });
      expect(target.copyWithin).toBeDefined();
      const result = await target.copyWithin!(source, 'o b.bin', 'copied.bin');
      expect(result?.size).toBe(data.length);
      expectRightChecksums(result?.checksums, data, known(target));
      expect(
        (await readAll(await target.read('copied.bin'))).equals(data),
      ).toBe(true);
      expect(await listAll(source)).toEqual(
        new Map([['o b.bin', data.length]]),
      );
      // With the listed size as a hint (what the engine passes).
      const hinted = await target.copyWithin!(source, 'o b.bin', 'hinted.bin', {
        size: data.length,
      });
      expect(hinted?.size).toBe(data.length);
      expect(
        (await readAll(await target.read('hinted.bin'))).equals(data),
      ).toBe(true);

      const foreign = {
        ...source,
        backendId: 'other',
      } as unknown as ObjectStore;
      expect(await target.copyWithin!(foreign, 'o b.bin', 'x')).toBeUndefined();
      expect(await target.stat('x')).toBeUndefined();
    },
  );

  define(
    'copy-missing-source',
    'answers a copy of a missing object with NotFoundError, creating nothing',
    async () => {
      const ctx = context();
      const prefix = unique('copy-missing');
      const source = await ctx.open(`${prefix}/src`);
      const target = await ctx.open(`${prefix}/dst`);
      await source.write('present', Readable.from(['p']), { size: 1 });
      await expect(
        target.copyWithin!(source, 'missing', 'x'),
      ).rejects.toMatchObject({ name: 'NotFoundError' });
      await expect(
        target.copyWithin!(source, 'no/such/folder/missing', 'y/z'),
      ).rejects.toMatchObject({ name: 'NotFoundError' });
      await expect(
        target.copyWithin!(source, 'missing', 'x', { size: 1 }),
      ).rejects.toMatchObject({ name: 'NotFoundError' });
      expect(await target.stat('x')).toBeUndefined();
      expect(await listAll(target)).toEqual(new Map());
      if (ctx.storedNames) {
        expect(await ctx.storedNames(`${prefix}/dst`)).toEqual([]);
      }
    },
  );

  define(
    'list-after',
    'lists in UTF-8 byte order from after a key, across pages (listsInKeyOrder)',
    async () => {
      const ctx = context();
      const store = await ctx.open(unique('after'));
      expect(store.capabilities.listsInKeyOrder).toBe(true);
      // `/` sorts below `0`, `~` above the letters, `é` (two UTF-8 bytes)
      // above every ASCII key.
      const keys = ['a', 'b', 'b/1', 'b0', 'c', 'é', 'b~'];
      for (let i = 0; i < ctx.listPageSize * 2 + 1; i++) {
        keys.push(`many/${String(i).padStart(4, '0')}`);
      }
      for (const key of keys) {
        await store.write(key, Readable.from(['x']), { size: 1 });
      }
      const after = async (startAfter: string) => {
        const found: string[] = [];
        for await (const info of store.list({ startAfter })) {
          found.push(info.key);
        }
        return found;
      };
      const many = keys.filter(k => k.startsWith('many/'));
      expect(await after('b')).toEqual(['b/1', 'b0', 'b~', 'c', ...many, 'é']);
      // From the middle of a page, and from a key that does not exist.
      expect(await after(many[3])).toEqual([...many.slice(4), 'é']);
      expect(await after('many/')).toEqual([...many, 'é']);
      expect(await after('é')).toEqual([]);
    },
  );
}

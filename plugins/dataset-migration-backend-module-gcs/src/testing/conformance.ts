/* eslint-disable jest/no-export */
// A suite other packages run against their stores: it must export and hold
// `describe`/`it` calls at once.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  crc32c,
  ObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';
import { generatedStream, hashStream } from './data';

/** What a backend's test provides to the shared suite. */
export interface ConformanceContext {
  /** Opens a store at `prefix` (unique per test) on the backend under test. */
  open(prefix: string): Promise<ObjectStore>;
  /** The store's configured list page size (the suite crosses pages). */
  listPageSize: number;
  /**
   * Counts requests that carry one part / chunk of a multipart or resumable
   * upload, to prove large objects take that path.
   */
  partRequests(): number;
}

const MiB = 1024 * 1024;

function expectedChecksums(data: Buffer) {
  return {
    md5: createHash('md5').update(data).digest('hex'),
    sha256: createHash('sha256').update(data).digest('hex'),
    crc32c: crc32c(data).toString(16).padStart(8, '0'),
  };
}

/** Every checksum the store reported must be right; at least one must exist. */
function expectRightChecksums(
  reported: Record<string, string | undefined> | undefined,
  data: Buffer,
) {
  const expected = expectedChecksums(data) as Record<string, string>;
  const entries = Object.entries(reported ?? {}).filter(([, v]) => v);
  expect(entries.length).toBeGreaterThan(0);
  for (const [algorithm, value] of entries) {
    expect([algorithm, value]).toEqual([algorithm, expected[algorithm]]);
  }
}

async function readAll(stream: Readable) {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function listAll(store: ObjectStore) {
  const result = new Map<string, number>();
  for await (const info of store.list()) {
    expect(result.has(info.key)).toBe(false);
    result.set(info.key, info.size);
  }
  return result;
}

let counter = 0;
const unique = (name: string) =>
  `conf-${Date.now().toString(36)}-${++counter}/${name}`;

/**
 * The behaviour every `ObjectStore` must have, run against real protocol
 * servers by each backend's tests.
 */
export function describeObjectStoreConformance(
  name: string,
  context: () => ConformanceContext,
) {
  describe(`${name} ObjectStore conformance`, () => {
    it('writes, stats and reads an object with correct checksums', async () => {
      const store = await context().open(unique('basic'));
      const data = randomBytes(100_003);
      const result = await store.write('a/b.bin', Readable.from([data]), {
        size: data.length,
        contentType: 'application/octet-stream',
      });
      expect(result.size).toBe(data.length);
      expectRightChecksums(result.checksums, data);
      const info = await store.stat('a/b.bin');
      expect(info).toMatchObject({ key: 'a/b.bin', size: data.length });
      expectRightChecksums(info!.checksums, data);
      expect((await readAll(await store.read('a/b.bin'))).equals(data)).toBe(
        true,
      );
    });

    it('handles zero-byte objects', async () => {
      const store = await context().open(unique('empty'));
      const result = await store.write('empty', Readable.from([]), { size: 0 });
      expect(result.size).toBe(0);
      expectRightChecksums(result.checksums, Buffer.alloc(0));
      expect(await store.stat('empty')).toMatchObject({ size: 0 });
      expect((await readAll(await store.read('empty'))).length).toBe(0);
      expect(await listAll(store)).toEqual(new Map([['empty', 0]]));
    });

    it('lists across page boundaries, with odd keys, staying inside the prefix', async () => {
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
    });

    it('reads byte ranges', async () => {
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

    it('treats missing objects as the interface says', async () => {
      const store = await context().open(unique('missing'));
      expect(await store.stat('nope')).toBeUndefined();
      await expect(store.read('nope')).rejects.toMatchObject({
        name: 'NotFoundError',
      });
      await expect(store.delete('nope')).resolves.toBeUndefined();
      await store.write('gone', Readable.from(['x']), { size: 1 });
      await store.delete('gone');
      expect(await store.stat('gone')).toBeUndefined();
    });

    it('overwrites, and accepts bodies of unknown length', async () => {
      const store = await context().open(unique('overwrite'));
      await store.write('k', Readable.from(['first']), { size: 5 });
      const data = randomBytes(3 * MiB + 5);
      const result = await store.write('k', Readable.from([data]));
      expect(result.size).toBe(data.length);
      expectRightChecksums(result.checksums, data);
      expect((await readAll(await store.read('k'))).equals(data)).toBe(true);
    });

    it('refuses keys that escape the prefix', async () => {
      const store = await context().open(unique('keys'));
      await expect(store.stat('../other')).rejects.toMatchObject({
        name: 'InputError',
      });
    });

    it('writes a 64 MiB object through multipart / resumable, bytes equal', async () => {
      const ctx = context();
      const store = await ctx.open(unique('large'));
      const size = 64 * MiB;
      const before = ctx.partRequests();
      const expected = await hashStream(generatedStream(size, 42));
      const result = await store.write('big.bin', generatedStream(size, 42), {
        size,
      });
      expect(ctx.partRequests() - before).toBeGreaterThanOrEqual(2);
      expect(result.size).toBe(size);
      expect(result.checksums.sha256 ?? expected.sha256).toBe(expected.sha256);
      expect(await store.stat('big.bin')).toMatchObject({ size });
      expect(await hashStream(await store.read('big.bin'))).toEqual(expected);
    }, 180_000);

    it('copies server-side between stores of the same backend', async () => {
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
      expectRightChecksums(result?.checksums, data);
      expect(
        (await readAll(await target.read('copied.bin'))).equals(data),
      ).toBe(true);

      const foreign = {
        ...source,
        backendId: 'local',
      } as unknown as ObjectStore;
      expect(await target.copyWithin!(foreign, 'o b.bin', 'x')).toBeUndefined();
      await expect(
        target.copyWithin!(source, 'missing', 'x'),
      ).rejects.toMatchObject({ name: 'NotFoundError' });
    });
  });
}

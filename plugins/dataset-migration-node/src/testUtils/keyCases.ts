import { Readable } from 'node:stream';
import type { ObjectStore } from '../storage';
import type { DefineCase, ResolvedContext } from './conformance';
import { AWKWARD_KEYS, CASE_KEYS, longestKey, utf8Bytes } from './keys';
import {
  bodyFor,
  expectRightChecksums,
  listAll,
  readAll,
  unique,
} from './support';

const known = (store: ObjectStore) => store.capabilities.checksums.length > 0;

/** Writes `keys` with distinct bodies; returns key → body. */
async function writeAll(store: ObjectStore, keys: readonly string[]) {
  const bodies = new Map<string, Buffer>();
  await Promise.all(
    keys.map(async (key, i) => {
      const body = bodyFor(key, i);
      bodies.set(key, body);
      const result = await store.write(key, Readable.from([body]), {
        size: body.length,
      });
      expect([key, result.size]).toEqual([key, body.length]);
      expectRightChecksums(result.checksums, body, known(store));
    }),
  );
  return bodies;
}

/** Listing, stat and bytes of every object equal `bodies`, nothing more. */
async function expectHolds(store: ObjectStore, bodies: Map<string, Buffer>) {
  const sizes = new Map([...bodies].map(([k, b]) => [k, b.length]));
  expect(await listAll(store)).toEqual(sizes);
  await Promise.all(
    [...bodies].map(async ([key, body]) => {
      const info = await store.stat(key);
      expect([key, info?.key, info?.size]).toEqual([key, key, body.length]);
      expectRightChecksums(info?.checksums, body, known(store));
      const read = await readAll(await store.read(key));
      expect([key, read.toString('latin1')]).toEqual([
        key,
        body.toString('latin1'),
      ]);
    }),
  );
}

/** Keys that break encoding, path handling and case folding; long keys. */
export function keyCases(define: DefineCase, context: () => ResolvedContext) {
  define(
    'awkward-keys',
    'writes, stats, reads, lists and deletes awkward keys',
    async () => {
      const store = await context().open(unique('awkward'));
      const bodies = await writeAll(store, AWKWARD_KEYS);
      await expectHolds(store, bodies);
      // Delete every other key: exactly those go.
      const gone = AWKWARD_KEYS.filter((_, i) => i % 2 === 0);
      for (const key of gone) {
        await store.delete(key);
        bodies.delete(key);
      }
      for (const key of gone) {
        expect([key, await store.stat(key)]).toEqual([key, undefined]);
      }
      await expectHolds(store, bodies);
    },
    60_000,
  );

  define(
    'case-distinct',
    'keeps keys that differ only by case as distinct objects',
    async () => {
      const store = await context().open(unique('case'));
      const bodies = await writeAll(store, CASE_KEYS);
      await expectHolds(store, bodies);
      await store.delete('key');
      await store.delete('dir/file');
      bodies.delete('key');
      bodies.delete('dir/file');
      expect(await store.stat('key')).toBeUndefined();
      await expectHolds(store, bodies);
    },
  );

  const longKeyCase = (unit: string) => async () => {
    const ctx = context();
    const prefix = unique('long');
    const source = await ctx.open(`${prefix}/a`);
    const target = await ctx.open(`${prefix}/b`);
    const key = longestKey(
      `${prefix}/a`,
      ctx.maxKeyBytes,
      ctx.maxKeySegmentBytes,
      unit,
    );
    // The full object name fills the limit exactly; no segment exceeds its own.
    expect(utf8Bytes(`${prefix}/a/${key}`)).toBe(ctx.maxKeyBytes);
    for (const segment of key.split('/')) {
      expect(utf8Bytes(segment)).toBeLessThanOrEqual(ctx.maxKeySegmentBytes);
    }
    expect(utf8Bytes(key.split('/').pop()!)).toBe(ctx.maxKeySegmentBytes);

    const bodies = await writeAll(source, [key]);
    await expectHolds(source, bodies);
    expect(target.copyWithin).toBeDefined();
    const copied = await target.copyWithin!(source, key, key);
    expect(copied?.size).toBe(bodies.get(key)!.length);
    await expectHolds(target, bodies);
    await source.delete(key);
    expect(await source.stat(key)).toBeUndefined();
    expect(await listAll(source)).toEqual(new Map());
    await expectHolds(target, bodies);
  };

  define(
    'longest-ascii-key',
    'holds an ASCII key that fills the key length limit',
    longKeyCase('k'),
  );
  define(
    'longest-multibyte-key',
    'holds a multi-byte UTF-8 key (2-, 3- and 4-byte characters) that fills the key length limit',
    // Mostly CJK (3 bytes per UTF-16 unit), as a Japanese file name would be.
    longKeyCase('日本語日本語日本語é😀'),
  );

  define(
    'copy-awkward-keys',
    'copies server-side from and to awkward keys, bytes and checksums right',
    async () => {
      const ctx = context();
      const prefix = unique('copy-awkward');
      const source = await ctx.open(`${prefix}/src`);
      const target = await ctx.open(`${prefix}/dst`);
      const keys = [...AWKWARD_KEYS, ...CASE_KEYS];
      const bodies = await writeAll(source, keys);
      expect(target.copyWithin).toBeDefined();
      const expected = new Map<string, Buffer>();
      // Same awkward key on both sides, and a different awkward key (with
      // more reserved characters in the folder) on the target side.
      const copies = keys.flatMap((key, i) => [
        [key, key],
        [key, `re=named+#/${keys[(i + 1) % keys.length]}`],
      ]);
      await Promise.all(
        copies.map(async ([from, to]) => {
          const body = bodies.get(from)!;
          expected.set(to, body);
          const result = await target.copyWithin!(source, from, to);
          expect([from, to, result?.size]).toEqual([from, to, body.length]);
          expectRightChecksums(result?.checksums, body, known(target));
        }),
      );
      await expectHolds(target, expected);
      // The sources are untouched.
      await expectHolds(source, bodies);
      // And a copy within one store, between two awkward keys.
      const [a, b] = ['hash#tag.txt', 'amp&ersand&x=1.txt'];
      const result = await source.copyWithin!(source, a, `${b}#copy`);
      expect(result?.size).toBe(bodies.get(a)!.length);
      bodies.set(`${b}#copy`, bodies.get(a)!);
      await expectHolds(source, bodies);
    },
    120_000,
  );
}

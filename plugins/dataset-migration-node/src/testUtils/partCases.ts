import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type {
  ObjectStore,
  PartedWrites,
  PartRange,
  PartResult,
} from '../storage';
import type {
  ConformanceCaseId,
  DefineCase,
  ResolvedContext,
} from './conformance';
import {
  chunked,
  expectRightChecksums,
  KiB,
  listAll,
  readAll,
  unique,
} from './support';

/** Bytes of the short last part. */
const LAST_PART = 10_007;

/**
 * An object of two full parts and a short last one: parts are the smallest
 * multiple of `partSizeMultiple` of at least 64 KiB (5 MiB on S3), so the
 * data stays small where the store allows small parts.
 */
function layoutFor(parts: PartedWrites) {
  const multiple = parts.partSizeMultiple;
  const partSize = multiple * Math.max(1, Math.ceil((64 * KiB) / multiple));
  const sizes = [partSize, partSize, LAST_PART];
  const ranges: PartRange[] = [];
  let offset = 0;
  sizes.forEach((size, i) => {
    ranges.push({ number: i + 1, offset, size });
    offset += size;
  });
  return { data: randomBytes(offset), ranges };
}

/** The bytes of `range` in `data`, in odd-sized chunks. */
function bodyOf(data: Buffer, range: PartRange) {
  return chunked(data.subarray(range.offset, range.offset + range.size), 9_973);
}

/** Writes `ranges` of `data` in the order given; returns number → token. */
async function writeParts(
  parts: PartedWrites,
  key: string,
  uploadId: string,
  data: Buffer,
  ranges: PartRange[],
  tokens = new Map<number, string>(),
) {
  for (const range of ranges) {
    const result: PartResult = await parts.writePart(
      key,
      uploadId,
      range,
      bodyOf(data, range),
    );
    expect([range.number, result.size, typeof result.token]).toEqual([
      range.number,
      range.size,
      'string',
    ]);
    tokens.set(range.number, result.token);
  }
  return tokens;
}

/** What `complete` takes, in number order. */
const partList = (tokens: Map<number, string>) =>
  [...tokens]
    .sort(([a], [b]) => a - b)
    .map(([number, token]) => ({ number, token }));

/** The store holds exactly `key` with `data` (stat, listing, bytes). */
async function expectHolds(store: ObjectStore, key: string, data: Buffer) {
  expect(await store.stat(key)).toMatchObject({ key, size: data.length });
  expect(await listAll(store)).toEqual(new Map([[key, data.length]]));
  const read = await readAll(await store.read(key));
  expect([read.length, read.equals(data)]).toEqual([data.length, true]);
}

/**
 * Parted writes (`ObjectStore.parts`): parts written in any order, rewritten,
 * completed or aborted, from what a fresh process knows (key, upload id,
 * part numbers and tokens). A store without `parts` fails them: its test
 * declares them skipped, with the reason (Jest cannot skip a case once it
 * runs, and whether a store has `parts` is only known once it is open).
 */
export function partCases(define: DefineCase, context: () => ResolvedContext) {
  const defineParts = (
    id: ConformanceCaseId,
    title: string,
    fn: (
      ctx: ResolvedContext,
      prefix: string,
      store: ObjectStore,
      parts: PartedWrites,
    ) => Promise<void>,
  ) =>
    define(
      id,
      `${title} (stores with parted writes)`,
      async () => {
        const ctx = context();
        const prefix = unique(id);
        const store = await ctx.open(prefix);
        if (!store.parts) {
          throw new Error(
            `The store has no parted writes (ObjectStore.parts): declare case '${id}' skipped, with the reason`,
          );
        }
        await fn(ctx, prefix, store, store.parts);
      },
      180_000,
    );

  defineParts(
    'parts-complete',
    'writes parts out of order, shows nothing until complete, then the whole object',
    async (ctx, prefix, store, parts) => {
      const key = 'parted/big object.bin';
      const { data, ranges } = layoutFor(parts);
      expect(parts.maxSize).toBeGreaterThanOrEqual(data.length);
      const uploadId = await parts.begin(key, { size: data.length });
      expect(uploadId).toEqual(expect.any(String));
      expect(await store.stat(key)).toBeUndefined();
      // The last (short) part first, as a fast worker would.
      const tokens = await writeParts(parts, key, uploadId, data, [
        ...ranges.slice(-1),
        ...ranges.slice(0, -1).reverse(),
      ]);
      expect(await store.stat(key)).toBeUndefined();
      expect(await listAll(store)).toEqual(new Map());
      const result = await parts.complete(key, uploadId, partList(tokens));
      expect(result.size).toBe(data.length);
      expectRightChecksums(result.checksums, data, false);
      await expectHolds(store, key, data);
      const stored = ctx.storedNames ? await ctx.storedNames(prefix) : [key];
      expect(stored).toEqual([key]);
    },
  );

  defineParts(
    'parts-rewrite',
    'replaces a rewritten part, and the old object only on complete',
    async (ctx, prefix, store, parts) => {
      const key = 'rewritten.bin';
      const old = Buffer.from('the old object');
      await store.write(key, Readable.from([old]), { size: old.length });
      const { data, ranges } = layoutFor(parts);
      const uploadId = await parts.begin(key, { size: data.length });
      const tokens = await writeParts(parts, key, uploadId, data, ranges);
      // Other bytes for the middle and the last part, written again.
      const rewritten = Buffer.from(data);
      for (const range of ranges.slice(1)) {
        randomBytes(range.size).copy(rewritten, range.offset);
      }
      await writeParts(
        parts,
        key,
        uploadId,
        rewritten,
        ranges.slice(1).reverse(),
        tokens,
      );
      await expectHolds(store, key, old);
      const result = await parts.complete(key, uploadId, partList(tokens));
      expect(result.size).toBe(rewritten.length);
      await expectHolds(store, key, rewritten);
      const stored = ctx.storedNames ? await ctx.storedNames(prefix) : [key];
      expect(stored).toEqual([key]);
    },
  );

  defineParts(
    'parts-abort',
    'leaves nothing stored after an abort, and aborts a gone upload quietly',
    async (ctx, prefix, store, parts) => {
      const key = 'aborted/object.bin';
      const { data, ranges } = layoutFor(parts);
      const uploadId = await parts.begin(key, { size: data.length });
      await writeParts(parts, key, uploadId, data, [ranges[2], ranges[0]]);
      await parts.abort(key, uploadId);
      expect(await store.stat(key)).toBeUndefined();
      expect(await listAll(store)).toEqual(new Map());
      const stored = ctx.storedNames ? await ctx.storedNames(prefix) : [];
      expect(stored).toEqual([]);
      await expect(parts.abort(key, uploadId)).resolves.toBeUndefined();
      // An upload that never got a part.
      const empty = await parts.begin(key, { size: data.length });
      await parts.abort(key, empty);
      expect(await listAll(store)).toEqual(new Map());
      const after = ctx.storedNames ? await ctx.storedNames(prefix) : [];
      expect(after).toEqual([]);
    },
  );

  defineParts(
    'parts-missing-upload',
    'answers parts and completes of an aborted or completed upload with NotFoundError',
    async (_ctx, _prefix, store, parts) => {
      const { data, ranges } = layoutFor(parts);
      const aborted = await parts.begin('a.bin', { size: data.length });
      const tokens = await writeParts(parts, 'a.bin', aborted, data, ranges);
      await parts.abort('a.bin', aborted);
      await expect(
        parts.complete('a.bin', aborted, partList(tokens)),
      ).rejects.toMatchObject({ name: 'NotFoundError' });
      await expect(
        parts.writePart('a.bin', aborted, ranges[0], bodyOf(data, ranges[0])),
      ).rejects.toMatchObject({ name: 'NotFoundError' });
      expect(await store.stat('a.bin')).toBeUndefined();

      const done = await parts.begin('b.bin', { size: data.length });
      const doneTokens = await writeParts(parts, 'b.bin', done, data, ranges);
      await parts.complete('b.bin', done, partList(doneTokens));
      await expect(
        parts.complete('b.bin', done, partList(doneTokens)),
      ).rejects.toMatchObject({ name: 'NotFoundError' });
      await expectHolds(store, 'b.bin', data);
    },
  );

  defineParts(
    'parts-size-mismatch',
    'refuses a part body longer or shorter than the part, spilling into no other part',
    async (_ctx, _prefix, store, parts) => {
      const key = 'mismatch.bin';
      const { data, ranges } = layoutFor(parts);
      const uploadId = await parts.begin(key, { size: data.length });
      const tokens = await writeParts(parts, key, uploadId, data, ranges);
      const first = ranges[0];
      for (const size of [first.size + 1, first.size - 1, 0]) {
        await expect(
          parts.writePart(
            key,
            uploadId,
            first,
            chunked(randomBytes(size), 9_973),
          ),
        ).rejects.toThrow();
      }
      // The upload is still there: the part is written again, completed.
      await writeParts(parts, key, uploadId, data, [first], tokens);
      await parts.complete(key, uploadId, partList(tokens));
      await expectHolds(store, key, data);
    },
  );
}

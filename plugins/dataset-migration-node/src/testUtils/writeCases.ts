import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ObjectStore } from '../storage';
import type { DefineCase, ResolvedContext } from './conformance';
import {
  chunked,
  expectRightChecksums,
  KiB,
  listAll,
  readAll,
  unique,
  waitFor,
} from './support';

const known = (store: ObjectStore) => store.capabilities.checksums.length > 0;

const FAILURE = 'source failed midway (conformance)';

/**
 * A body that delivers `bytes` bytes in 64 KiB chunks, then (once `before`
 * holds, at most 30 s) either fails with an error or, with `stall`, just
 * stops. `stalled` resolves when the consumer asked for more than `bytes`.
 */
function interruptedBody(
  bytes: number,
  options: { stall?: boolean; before?: () => boolean } = {},
) {
  let sent = 0;
  let waited: boolean | undefined;
  let onStalled = () => {};
  const stalled = new Promise<void>(resolve => {
    onStalled = resolve;
  });
  const body = new Readable({
    read() {
      if (sent < bytes) {
        const n = Math.min(64 * KiB, bytes - sent);
        sent += n;
        this.push(randomBytes(n));
        return;
      }
      if (waited !== undefined) {
        return;
      }
      waited = false;
      waitFor(options.before ?? (() => true), 30_000).then(ok => {
        waited = ok;
        onStalled();
        if (!options.stall) {
          this.destroy(new Error(FAILURE));
        }
      });
    },
  });
  return { body, stalled, waited: () => waited };
}

/** Sizes around part edges, and writes that are interrupted. */
export function writeCases(define: DefineCase, context: () => ResolvedContext) {
  /** After a failed write: the store holds exactly `expected`. */
  async function expectOnly(
    ctx: ResolvedContext,
    prefix: string,
    store: ObjectStore,
    expected: Map<string, Buffer>,
    failedKeys: string[],
  ) {
    for (const key of failedKeys) {
      const info = await store.stat(key);
      const old = expected.get(key);
      expect([key, info?.size]).toEqual([key, old?.length]);
    }
    const sizes = new Map([...expected].map(([k, b]) => [k, b.length]));
    expect(await listAll(store)).toEqual(sizes);
    for (const [key, body] of expected) {
      expect((await readAll(await store.read(key))).equals(body)).toBe(true);
    }
    if (ctx.storedNames) {
      expect((await ctx.storedNames(prefix)).sort()).toEqual(
        [...expected.keys()].sort(),
      );
    }
  }

  define(
    'part-boundaries',
    'writes objects of the part size −1, exactly and +1 bytes, sized and unsized',
    async () => {
      const ctx = context();
      const store = await ctx.open(unique('parts'));
      const part = ctx.partSizeBytes;
      const sizes = new Map<string, number>();
      for (const size of [0, 1, part - 1, part, part + 1]) {
        const data = randomBytes(size);
        for (const sized of [true, false]) {
          const key = `${size}-${sized ? 'sized' : 'unsized'}.bin`;
          const before = ctx.partRequests?.() ?? 0;
          const result = await store.write(
            key,
            chunked(data),
            sized ? { size } : undefined,
          );
          const parts = (ctx.partRequests?.() ?? 0) - before;
          expect([key, result.size]).toEqual([key, size]);
          expectRightChecksums(result.checksums, data, known(store));
          const info = await store.stat(key);
          expect([key, info?.size]).toEqual([key, size]);
          expectRightChecksums(info?.checksums, data, known(store));
          const read = await readAll(await store.read(key));
          expect([key, read.length, read.equals(data)]).toEqual([
            key,
            size,
            true,
          ]);
          if (ctx.partRequests) {
            // The split happens exactly past partSizeBytes.
            if (size > part) {
              expect([key, parts >= 2]).toEqual([key, true]);
            } else if (size < part) {
              expect([key, parts <= 1]).toEqual([key, true]);
            }
          }
          sizes.set(key, size);
        }
      }
      expect(await listAll(store)).toEqual(sizes);
    },
    180_000,
  );

  /** One small and one multi-part interruption, with and without a size. */
  const variants = (ctx: ResolvedContext) => {
    const part = ctx.partSizeBytes;
    return [
      { name: 'small', bytes: 100 * KiB, size: 200 * KiB, multipart: false },
      {
        name: 'large-sized',
        bytes: part + part / 2,
        size: 3 * part,
        multipart: true,
      },
      {
        name: 'large-unsized',
        bytes: part + part / 2,
        size: undefined,
        multipart: true,
      },
    ];
  };

  /** Starts an interrupted write; waits for a part first when multipart. */
  function interrupted(
    ctx: ResolvedContext,
    v: ReturnType<typeof variants>[number],
    stall = false,
  ) {
    const before = ctx.partRequests?.() ?? 0;
    const needsPart = v.multipart && ctx.partRequests;
    return interruptedBody(v.bytes, {
      stall,
      before: needsPart ? () => ctx.partRequests!() > before : undefined,
    });
  }

  define(
    'interrupted-new',
    'leaves no object, partial or temporary, when the body fails midway',
    async () => {
      const ctx = context();
      const prefix = unique('interrupted');
      const store = await ctx.open(prefix);
      for (const v of variants(ctx)) {
        const key = `new/${v.name}.bin`;
        const { body, waited } = interrupted(ctx, v);
        await expect(store.write(key, body, { size: v.size })).rejects.toThrow(
          FAILURE,
        );
        // The failure came after a part was sent, where there are parts.
        expect([v.name, waited()]).toEqual([v.name, true]);
        await expectOnly(ctx, prefix, store, new Map(), [key]);
      }
    },
    180_000,
  );

  define(
    'interrupted-overwrite',
    'keeps the old object intact when an overwrite fails midway',
    async () => {
      const ctx = context();
      const prefix = unique('interrupted-ow');
      const store = await ctx.open(prefix);
      const old = new Map<string, Buffer>();
      for (const v of variants(ctx)) {
        const key = `old/${v.name}.bin`;
        old.set(key, randomBytes(50_001));
        await store.write(key, Readable.from([old.get(key)!]), {
          size: 50_001,
        });
      }
      for (const v of variants(ctx)) {
        const key = `old/${v.name}.bin`;
        const before = await store.stat(key);
        const { body, waited } = interrupted(ctx, v);
        await expect(store.write(key, body, { size: v.size })).rejects.toThrow(
          FAILURE,
        );
        expect([v.name, waited()]).toEqual([v.name, true]);
        const after = await store.stat(key);
        expect([key, after?.etag]).toEqual([key, before?.etag]);
        await expectOnly(ctx, prefix, store, old, [key]);
      }
    },
    180_000,
  );

  define(
    'interrupted-abort',
    'stops a write whose signal aborts midway, leaving no object and the old one intact',
    async () => {
      const ctx = context();
      const prefix = unique('aborted');
      const store = await ctx.open(prefix);
      const old = Buffer.from('the old object');
      await store.write('old', Readable.from([old]), { size: old.length });
      const expected = new Map([['old', old]]);
      for (const v of variants(ctx)) {
        for (const key of [`new-${v.name}`, 'old']) {
          const controller = new AbortController();
          const { body, stalled, waited } = interrupted(ctx, v, true);
          const writing = store.write(key, body, {
            size: v.size,
            signal: controller.signal,
          });
          writing.catch(() => undefined);
          await stalled;
          expect([v.name, waited()]).toEqual([v.name, true]);
          controller.abort();
          // (AbortError comes from Node's realm: no instanceof across realms.)
          await expect(writing).rejects.toMatchObject({
            message: expect.any(String),
          });
          await expectOnly(ctx, prefix, store, expected, [key]);
        }
      }
    },
    180_000,
  );
}

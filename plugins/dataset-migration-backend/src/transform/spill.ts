import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ConflictError } from '@backstage/errors';
import {
  HashingStream,
  unwrapGuardedStore,
  type ObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';
import { LocalObjectStore } from '../storage/local/LocalObjectStore';

/**
 * A private temp folder for one transform: DuckDB reads and writes local
 * files, so objects reach it through here (streamed, never in memory).
 * `dispose()` removes everything, whatever happened.
 */
export async function createSpillArea(base = os.tmpdir()): Promise<{
  dir: string;
  file(name: string): string;
  dispose(): Promise<void>;
}> {
  await fsp.mkdir(base, { recursive: true });
  const dir = await fsp.mkdtemp(path.join(base, 'dm-spill-'));
  return {
    dir,
    file: name => path.join(dir, name),
    dispose: () => fsp.rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Streams one object of a store into a local file, hashing it on the way;
 * returns its size and sha256.
 */
export async function spillObject(
  store: ObjectStore,
  key: string,
  file: string,
  signal?: AbortSignal,
): Promise<{ size: number; sha256: string }> {
  const body = await store.read(key);
  // sha256 only: it is what the snapshot and the validation compare.
  const hashing = new HashingStream(['sha256']);
  await pipeline(body, hashing, fs.createWriteStream(file), { signal });
  return { size: hashing.byteCount, sha256: hashing.digests().sha256! };
}

/** An object as a local file DuckDB can read. */
export interface ObjectFile {
  file: string;
  /**
   * Size and sha256 of the object as read. A spilled copy was hashed on
   * the way (already settled); a file read in place is hashed while the
   * caller reads it too (DuckDB works on its own threads), so await this
   * after the work it overlaps. Never an unhandled rejection.
   */
  digest: Promise<{ size: number; sha256: string }>;
  /**
   * Throws a `ConflictError` when the file read in place changed since it
   * was hashed (a spilled copy never does).
   */
  assertUnchanged(): Promise<void>;
}

/**
 * Characters DuckDB's readers take for a glob pattern (or its escape) in a
 * path: such a file is spilled under a plain name instead.
 */
const GLOB = /[*?[\]{}\\]/;

/**
 * The object as a local file: on a local store the object's own file,
 * hashed in place and read where it is (no copy); elsewhere spilled to
 * `spillFile` by {@link spillObject}. In place only when the key has the
 * spill file's extension (DuckDB picks a compression by extension) and the
 * path has no glob characters (DuckDB would expand them).
 */
export async function objectFile(
  store: ObjectStore,
  key: string,
  spillFile: string,
  signal?: AbortSignal,
): Promise<ObjectFile> {
  const local = localStoreOf(store);
  if (local && path.extname(key) === path.extname(spillFile)) {
    const file = await local.filePath(key);
    if (!GLOB.test(file)) return hashInPlace(key, file, signal);
  }
  const spilled = await spillObject(store, key, spillFile, signal);
  return {
    file: spillFile,
    digest: Promise.resolve(spilled),
    assertUnchanged: async () => {},
  };
}

/**
 * Size and sha256 of a local file, read into one reused 1 MiB buffer: a
 * file of any size leaves no garbage behind (a read stream allocates a
 * chunk per read, freed only when the collector gets to it).
 */
export async function hashFile(
  file: string,
  signal?: AbortSignal,
): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  const handle = await fsp.open(file, 'r');
  let size = 0;
  try {
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, size);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return { size, sha256: hash.digest('hex') };
}

/**
 * A promise nobody may await (the caller failed first) must not crash the
 * process with an unhandled rejection; whoever awaits it still sees it.
 */
export function settledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

async function hashInPlace(
  key: string,
  file: string,
  signal?: AbortSignal,
): Promise<ObjectFile> {
  const before = await fsp.stat(file);
  return {
    file,
    digest: settledLater(hashFile(file, signal)),
    async assertUnchanged() {
      const after = await fsp.stat(file).catch(() => undefined);
      if (
        !after ||
        after.ino !== before.ino ||
        after.size !== before.size ||
        after.mtimeMs !== before.mtimeMs
      ) {
        throw new ConflictError(
          `Object '${key}' changed while it was read (its size or modification time is not what it was)`,
        );
      }
    },
  };
}

/**
 * The local store `store` is (through any wrappers), when it is one: its
 * objects can be written by a writer that takes a path
 * (`LocalObjectStore.writeFile`).
 */
export function localStoreOf(store: ObjectStore): LocalObjectStore | undefined {
  const inner = unwrapGuardedStore(store);
  return inner instanceof LocalObjectStore ? inner : undefined;
}

/**
 * Where a head of `maxBytes` should be cut: after the last newline that
 * ends a record. With `quoted` (CSV), a newline inside a double-quoted
 * field does not end one (an escaped `""` keeps the quote count even).
 * -1 when no record ends in the head.
 */
export function lastRecordEnd(head: Buffer, quoted: boolean): number {
  if (!quoted) return head.lastIndexOf(0x0a);
  let inside = false;
  let end = -1;
  for (let i = 0; i < head.length; i++) {
    const byte = head[i];
    if (byte === 0x22) inside = !inside;
    else if (byte === 0x0a && !inside) end = i;
  }
  return end;
}

/**
 * Streams at most the first `maxBytes` of an object into a local file, cut
 * after its last complete record: enough for a CSV header and an NDJSON
 * sample without reading a large object whole. Returns whether the file
 * holds only a head of the object; when no record ends within the head,
 * the whole object is spilled. Holds at most `maxBytes` in memory.
 */
export async function spillHead(
  store: ObjectStore,
  key: string,
  file: string,
  maxBytes: number,
  options: { quoted: boolean; signal?: AbortSignal },
): Promise<{ partial: boolean }> {
  const { signal } = options;
  const info = await store.stat(key);
  if (!info || info.size <= maxBytes) {
    await spillObject(store, key, file, signal);
    return { partial: false };
  }
  const body = await store.read(key, { start: 0, end: maxBytes - 1 });
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  const head = Buffer.concat(chunks);
  const end = lastRecordEnd(head, options.quoted);
  if (end < 0) {
    await spillObject(store, key, file, signal);
    return { partial: false };
  }
  await fsp.writeFile(file, head.subarray(0, end + 1));
  return { partial: true };
}

import fs from 'node:fs/promises';
import { constants as fsConstants, createWriteStream, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { NotAllowedError, NotFoundError } from '@backstage/errors';
import type { DatasetLocation } from '@internal/backstage-plugin-dataset-migration-common';
import {
  pipeStreams,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type PartedWrites,
  type WriteHints,
  type WriteResult,
} from '@internal/backstage-plugin-dataset-migration-node';
import { BACKUP_FOLDER } from '../backupArea';
import {
  assertRealInside,
  isInside,
  keyPath,
  realpathLenient,
  resolveKey,
} from './paths';
import { LocalPartedWrites } from './partedWrites';
import { WritableFolders } from './writableFolders';
import { readUpTo } from './readUpTo';
import {
  SMALL_FILE_BYTES,
  syncFileGuard,
  readWholeSync,
  writeWholeSync,
  type SyncFileGuard,
} from './smallFiles';
import { walk } from './walk';
import { isTempName, tempPathFor, tempPrefix } from './tempNames';

export { isTempName } from './tempNames';

/** Bytes a write queues while its file write is in flight. */
const WRITE_QUEUE_BYTES = 1024 * 1024;

function infoFrom(key: string, st: import('node:fs').Stats): ObjectInfo {
  return {
    key,
    size: st.size,
    // mtime alone misses same-second rewrites on some filesystems; inode
    // changes on every atomic replace.
    etag: `${st.ino.toString(16)}-${Math.round(st.mtimeMs * 1000).toString(
      16,
    )}-${st.size.toString(16)}`,
    lastModified: st.mtime,
  };
}

/** Whether a folder exists (a missing or non-folder path is not one). */
async function isDir(p: string) {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** A dataset folder under a configured local root. */
export class LocalObjectStore implements ObjectStore {
  readonly backendId = 'local';
  readonly capabilities = {
    checksums: [],
    serverSideCopy: true,
    multipart: false,
  };
  /** Positional writes into a temp file beside the key (partedWrites.ts). */
  readonly parts: PartedWrites = new LocalPartedWrites(this, {
    prefix: tempPrefix,
    isTempName,
  });

  constructor(
    readonly location: DatasetLocation,
    /** Real path of the dataset folder (may not exist yet). */
    readonly dir: string,
    /** Real path of the root the folder lies in; never removed. */
    readonly rootDir: string,
    /** For a backup area: the folder the backend owns above `dir`. */
    private readonly ownedParent?: string,
  ) {
    this.#folders = new WritableFolders(dir);
    this.#syncFiles = syncFileGuard(rootDir);
  }

  readonly #folders: WritableFolders;
  readonly #syncFiles: SyncFileGuard;

  async *list(options?: { signal?: AbortSignal }): AsyncIterable<ObjectInfo> {
    // In key order for folders of up to 10,000 entries (walk.ts); memory is
    // bounded by the depth of the tree and those folders.
    for await (const { rel, entry } of walk(this.dir, {
      signal: options?.signal,
      skipTopLevel: BACKUP_FOLDER,
    })) {
      if (isTempName(entry.name)) continue;
      const key = rel ? `${rel}/${entry.name}` : entry.name;
      const full = path.join(this.dir, rel, entry.name);
      if (entry.isFile()) {
        yield infoFrom(
          key,
          this.#syncFiles.allowed
            ? this.#syncFiles.run('read', () => statSync(full))
            : await fs.stat(full),
        );
      } else if (entry.isSymbolicLink()) {
        const real = await realpathLenient(full);
        if (!isInside(this.dir, real)) {
          // Server paths stay out of the message: it can reach API callers.
          throw new NotAllowedError(
            `'${key}' in ${this.location.uri} is a symlink that leaves the dataset folder`,
          );
        }
        const st = await fs.stat(full);
        // Symlinked folders are skipped: they would list objects twice or loop.
        if (st.isFile()) yield infoFrom(key, st);
      }
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    // Most keys asked about do not exist (a new target): one stat answers
    // that. Only what exists has a real path to check; a missing key tells
    // nothing about anything outside the folder.
    const full = keyPath(this.dir, key);
    try {
      // Synchronously where small writes are (smallFiles.ts): a thread-pool
      // round trip per object cost more than the call itself.
      const st = this.#syncFiles.allowed
        ? this.#syncFiles.run('read', () =>
            statSync(full, { throwIfNoEntry: false }),
          )
        : await fs.stat(full);
      if (!st?.isFile()) return undefined;
      assertRealInside(this.dir, key, await fs.realpath(full));
      return infoFrom(key, st);
    } catch (e: any) {
      if (e?.code === 'ENOENT' || e?.code === 'ENOTDIR') return undefined;
      throw e;
    }
  }

  /**
   * The file holding an existing object (checked to lie inside the
   * dataset folder), for readers that take a path (DuckDB): no copy of the
   * object is made. Throws `NotFoundError` when it does not exist.
   */
  async filePath(key: string): Promise<string> {
    const full = await resolveKey(this.dir, key);
    const st = await fs.stat(full).catch(() => undefined);
    if (!st?.isFile()) {
      throw new NotFoundError(
        `Object '${key}' does not exist in ${this.location.uri}`,
      );
    }
    return full;
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    if (this.#syncFiles.allowed) {
      const full = keyPath(this.dir, key);
      const bytes = this.#syncFiles.run('read', () =>
        readWholeSync(this.dir, key, full, range),
      );
      if (bytes) return Readable.from([bytes], { objectMode: false });
    }
    const full = await resolveKey(this.dir, key);
    const handle = await fs.open(full, 'r').catch(e => {
      if (e?.code === 'ENOENT' || e?.code === 'ENOTDIR') {
        throw new NotFoundError(
          `Object '${key}' does not exist in ${this.location.uri}`,
        );
      }
      throw e;
    });
    // A 1 MiB read buffer per stream is right for big objects but dominated
    // (in allocation and GC) the validation of many small ones.
    const { size } = await handle.stat().catch(async e => {
      await handle.close();
      throw e;
    });
    return handle.createReadStream({
      start: range?.start,
      end: range?.end,
      highWaterMark: Math.min(1024 * 1024, Math.max(64 * 1024, size)),
    });
  }

  /**
   * The path to write `key` to, its folders made and checked to lie inside
   * the dataset folder (see {@link WritableFolders}). Parted writes use it
   * too.
   */
  writablePath(key: string): Promise<string> {
    return this.#folders.pathFor(key);
  }

  /**
   * Writes go to a temp file beside the target and are renamed into place,
   * so readers see the old or the new object, never a part. A crash can
   * leave the temp file: {@link LocalObjectStore.removeTemporaryFiles}
   * finds those by name, and listings never show them.
   */
  private async atomically(
    key: string,
    /** Resolves with the size written when it knows it (else one `stat`). */
    fill: (tempPath: string) => Promise<number | void>,
  ): Promise<number> {
    const full = await this.writablePath(key);
    const temp = tempPathFor(full);
    try {
      const filled = await fill(temp);
      // No fsync: rename already guarantees readers and a crashed process see
      // either the old or the new object; an fsync per object would cost
      // seconds per thousand small files on a busy disk.
      const size =
        typeof filled === 'number' ? filled : (await fs.stat(temp)).size;
      await fs.rename(temp, full);
      return size;
    } catch (e) {
      await fs.rm(temp, { force: true });
      throw e;
    }
  }

  /**
   * Writes `key` by letting `fill` make the file (a writer that takes a
   * path: DuckDB's `COPY … TO`), at a temp path beside the key that is
   * renamed into place when `fill` resolves, and removed when it throws.
   * Returns the size written.
   */
  async writeFile(
    key: string,
    fill: (tempPath: string) => Promise<void>,
  ): Promise<number> {
    return this.atomically(key, fill);
  }

  async write(
    key: string,
    body: Readable,
    hints?: WriteHints,
  ): Promise<WriteResult> {
    let rest = body;
    if ((hints?.size ?? 0) <= SMALL_FILE_BYTES && this.#syncFiles.allowed) {
      const head = await readUpTo(body, SMALL_FILE_BYTES, hints?.signal);
      if (head.ended) return this.writeSmall(key, head.data);
      rest = head.rest;
    }
    const size = await this.atomically(key, async temp => {
      // Up to 1 MiB waits while a write is in flight, then goes in one
      // `writev`: one thread-pool round trip per MiB, not per 64 KiB buffer.
      const file = createWriteStream(temp, {
        flags: 'wx',
        highWaterMark: WRITE_QUEUE_BYTES,
      });
      await pipeStreams(rest, file, hints?.signal);
      return file.bytesWritten;
    });
    return { size, checksums: {} };
  }

  /**
   * A whole small body, written synchronously (smallFiles.ts) into a
   * folder checked before, when one `stat` still finds it; a folder not
   * checked yet is checked (and made) first, asynchronously.
   */
  private async writeSmall(key: string, data: Uint8Array) {
    const written = this.#syncFiles.run('write', () => {
      const full = this.#folders.knownPath(key);
      if (full) writeWholeSync(full, tempPathFor(full), data);
      return full !== undefined;
    });
    if (!written) {
      const full = await this.writablePath(key);
      this.#syncFiles.run('write', () =>
        writeWholeSync(full, tempPathFor(full), data),
      );
    }
    return { size: data.length, checksums: {} };
  }

  async delete(key: string): Promise<void> {
    const full = await resolveKey(this.dir, key);
    await fs.rm(full, { force: true });
    // Folders created only for this object would otherwise survive a rollback.
    let parent = path.dirname(full);
    while (parent !== this.dir && isInside(this.dir, parent)) {
      try {
        await fs.rmdir(parent);
      } catch {
        break;
      }
      parent = path.dirname(parent);
    }
  }

  async copyWithin(
    source: ObjectStore,
    sourceKey: string,
    targetKey: string,
  ): Promise<WriteResult | undefined> {
    if (!(source instanceof LocalObjectStore)) return undefined;
    const from = await resolveKey(source.dir, sourceKey);
    if (!(await source.stat(sourceKey))) {
      // Before any folder of the target is made for it.
      throw new NotFoundError(
        `Object '${sourceKey}' does not exist in ${source.location.uri}`,
      );
    }
    const size = await this.atomically(targetKey, temp =>
      fs.copyFile(
        from,
        temp,
        fsConstants.COPYFILE_FICLONE | fsConstants.COPYFILE_EXCL,
      ),
    );
    return { size, checksums: {} };
  }

  async probe(): Promise<void> {
    if (!(await isDir(this.rootDir))) {
      throw new NotFoundError(
        `The local root of ${this.location.uri} does not exist on this server`,
      );
    }
    await fs.access(this.rootDir, fsConstants.R_OK | fsConstants.W_OK);
  }

  /** The deepest folder on the way from the root to `dir` that exists now. */
  async captureRootState(): Promise<string> {
    let current = this.dir;
    while (current !== this.rootDir && !(await isDir(current))) {
      current = path.dirname(current);
    }
    return JSON.stringify({ existing: path.relative(this.rootDir, current) });
  }

  async removeEmptyRoot(state?: string): Promise<void> {
    let stop: string;
    if (state) {
      const { existing } = JSON.parse(state) as { existing: string };
      stop = path.resolve(this.rootDir, existing);
    } else {
      // A migration's own area: its folder, and the backend's area above it.
      stop = path.dirname(this.ownedParent ?? this.dir);
    }
    let current = this.dir;
    // Never above the recorded folder, never outside the root.
    while (
      current !== stop &&
      isInside(stop, current) &&
      isInside(this.rootDir, current) &&
      current !== this.rootDir
    ) {
      try {
        await fs.rmdir(current);
      } catch (e: any) {
        if (e?.code !== 'ENOENT') return;
      }
      current = path.dirname(current);
    }
  }

  async removeTemporaryFiles(): Promise<number> {
    let removed = 0;
    for await (const { rel, entry } of walk(this.dir, {
      skipTopLevel: BACKUP_FOLDER,
    })) {
      if (entry.isFile() && isTempName(entry.name)) {
        await fs.rm(path.join(this.dir, rel, entry.name), { force: true });
        removed += 1;
      }
    }
    return removed;
  }
}

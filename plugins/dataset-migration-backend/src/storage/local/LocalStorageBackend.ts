import fs from 'node:fs/promises';
import { constants as fsConstants, createWriteStream } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Config } from '@backstage/config';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import type { DatasetLocation } from '@internal/backstage-plugin-dataset-migration-common';
import type {
  ByteRange,
  ObjectInfo,
  ObjectStore,
  StorageBackend,
  WriteHints,
  WriteResult,
} from '@internal/backstage-plugin-dataset-migration-node';
import { BACKUP_FOLDER } from '../backupArea';
import { isInside, realpathLenient, resolveKey } from './paths';

const TEMP_MARKER = '.dm-tmp-';

function isTempName(name: string) {
  return name.startsWith('.') && name.includes(TEMP_MARKER);
}

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

class LocalObjectStore implements ObjectStore {
  readonly backendId = 'local';
  readonly capabilities = {
    checksums: [],
    serverSideCopy: true,
    multipart: false,
  };

  constructor(
    readonly location: DatasetLocation,
    /** Real path of the dataset folder (may not exist yet). */
    readonly dir: string,
  ) {}

  async *list(options?: { signal?: AbortSignal }): AsyncIterable<ObjectInfo> {
    // Depth-first over lazily opened directories: memory is bounded by the
    // depth of the tree, not the number of files.
    const stack: string[] = [''];
    while (stack.length > 0) {
      const rel = stack.pop()!;
      let dir: import('node:fs').Dir;
      try {
        dir = await fs.opendir(rel ? path.join(this.dir, rel) : this.dir);
      } catch (e: any) {
        if (e?.code === 'ENOENT' && rel === '') return;
        throw e;
      }
      for await (const entry of dir) {
        options?.signal?.throwIfAborted();
        if (rel === '' && entry.name === BACKUP_FOLDER) continue;
        if (isTempName(entry.name)) continue;
        const key = rel ? `${rel}/${entry.name}` : entry.name;
        const full = path.join(this.dir, rel, entry.name);
        if (entry.isDirectory()) {
          stack.push(key);
        } else if (entry.isFile()) {
          yield infoFrom(key, await fs.stat(full));
        } else if (entry.isSymbolicLink()) {
          const real = await realpathLenient(full);
          if (!isInside(this.dir, real)) {
            throw new NotAllowedError(
              `'${key}' is a symlink to '${real}', outside the dataset folder '${this.dir}'`,
            );
          }
          const st = await fs.stat(full);
          // Symlinked folders are skipped: they would list objects twice or loop.
          if (st.isFile()) yield infoFrom(key, st);
        }
      }
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const full = await resolveKey(this.dir, key);
    try {
      const st = await fs.stat(full);
      return st.isFile() ? infoFrom(key, st) : undefined;
    } catch (e: any) {
      if (e?.code === 'ENOENT' || e?.code === 'ENOTDIR') return undefined;
      throw e;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
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

  /** Writes go to a temp file beside the target and are renamed into place. */
  private async atomically(
    key: string,
    fill: (tempPath: string) => Promise<void>,
  ): Promise<number> {
    const full = await resolveKey(this.dir, key);
    await fs.mkdir(path.dirname(full), { recursive: true });
    // The folders just created could not be symlinks, but a racing process
    // could have swapped one in; check again before writing through them.
    await resolveKey(this.dir, key);
    const temp = path.join(
      path.dirname(full),
      `.${path.basename(full).slice(0, 100)}${TEMP_MARKER}${randomBytes(
        6,
      ).toString('hex')}`,
    );
    try {
      await fill(temp);
      // No fsync: rename already guarantees readers and a crashed process see
      // either the old or the new object; an fsync per object would cost
      // seconds per thousand small files on a busy disk.
      const { size } = await fs.stat(temp);
      await fs.rename(temp, full);
      return size;
    } catch (e) {
      await fs.rm(temp, { force: true });
      throw e;
    }
  }

  async write(
    key: string,
    body: Readable,
    hints?: WriteHints,
  ): Promise<WriteResult> {
    const size = await this.atomically(key, temp =>
      pipeline(body, createWriteStream(temp, { flags: 'wx' }), {
        signal: hints?.signal,
      }),
    );
    return { size, checksums: {} };
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
    const size = await this.atomically(targetKey, temp =>
      fs.copyFile(
        from,
        temp,
        fsConstants.COPYFILE_FICLONE | fsConstants.COPYFILE_EXCL,
      ),
    );
    return { size, checksums: {} };
  }
}

interface LocalRoot {
  /** Set for roots configured as `{ name, path }`: usable as file://name/… */
  name?: string;
  dir: string;
}

/**
 * Reads `datasetMigration.storage.local.roots`: each entry is a path, usable
 * through `file:///absolute/path`, or `{ name, path }`, usable through
 * `file://name/relative/path` too (so catalog files need no absolute paths).
 * Relative paths resolve against the backend's working directory.
 */
export function readLocalRoots(config: Config): LocalRoot[] {
  const key = 'datasetMigration.storage.local.roots';
  const raw = config.getOptional(key) ?? [];
  if (!Array.isArray(raw)) {
    throw new TypeError(`${key} must be a list`);
  }
  return raw.map((entry, i) => {
    if (typeof entry === 'string') return { dir: path.resolve(entry) };
    const { name, path: dir } = (entry ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)) {
      throw new TypeError(
        `${key}[${i}].name must be lowercase letters, digits, '-' or '_'`,
      );
    }
    if (typeof dir !== 'string' || dir === '') {
      throw new TypeError(`${key}[${i}].path must be a folder path`);
    }
    return { name, dir: path.resolve(dir) };
  });
}

/**
 * Storage backend for `file://` locations. Only folders under the configured
 * `datasetMigration.storage.local.roots` can be opened.
 */
export function createLocalStorageBackend(config: Config): StorageBackend {
  const roots = readLocalRoots(config);
  const describe = () =>
    roots.map(r => (r.name ? `file://${r.name}` : 'file:///…')).join(', ');
  let realRoots: Promise<string[]> | undefined;

  return {
    id: 'local',
    schemes: ['file'],
    async open(location: DatasetLocation): Promise<ObjectStore> {
      if (location.scheme !== 'file') {
        throw new InputError(`The local backend cannot open ${location.uri}`);
      }
      if (roots.length === 0) {
        throw new NotAllowedError(
          'Local dataset locations are disabled: configure datasetMigration.storage.local.roots',
        );
      }
      realRoots ??= Promise.all(roots.map(r => realpathLenient(r.dir)));
      const resolved = await realRoots;
      let requested: string;
      let candidates: number[];
      if (location.bucket) {
        const i = roots.findIndex(r => r.name === location.bucket);
        if (i < 0) {
          throw new InputError(
            `Unknown local root '${location.bucket}' in ${
              location.uri
            }; configured roots: ${describe()}`,
          );
        }
        requested = path.resolve(roots[i].dir, location.path || '.');
        candidates = [i];
      } else {
        requested = path.resolve(location.path);
        candidates = roots.map((_, i) => i);
      }
      const real = await realpathLenient(requested);
      const allowed = candidates.some(
        i => isInside(roots[i].dir, requested) && isInside(resolved[i], real),
      );
      if (!allowed) {
        // Server paths stay out of the message: it goes back to API callers.
        throw new NotAllowedError(
          `Location ${
            location.uri
          } is outside the allowed local roots (${describe()})`,
        );
      }
      return new LocalObjectStore(location, real);
    },
  };
}

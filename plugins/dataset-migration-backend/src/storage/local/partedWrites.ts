import fs from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import type { DatasetLocation } from '@internal/backstage-plugin-dataset-migration-common';
import {
  pipeStreams,
  type PartedWrites,
  type PartRange,
  type PartResult,
  type WriteResult,
} from '@internal/backstage-plugin-dataset-migration-node';
import { assertRealInside, keyPath } from './paths';

/** What parted writes need of the store they write into. */
export interface LocalPartsHost {
  readonly location: DatasetLocation;
  /** Real path of the dataset folder. */
  readonly dir: string;
  /** The path `write` writes `key` to, its folders made and checked. */
  writablePath(key: string): Promise<string>;
}

/** How the store names its temp files. */
export interface TempNames {
  /** The start of the name of every temp file of the object at `full`. */
  prefix(full: string): string;
  /** Whether a file name is a temp file's (hidden from listings, swept). */
  isTempName(name: string): boolean;
}

/**
 * What follows the temp prefix in an upload id: `p`, the object's size
 * (hex) and 24 random hex digits. The size lets `complete` check the file
 * from the id alone; the `p` keeps the ids of plain writes' temp files out.
 */
const UPLOAD_SUFFIX = /^p([0-9a-f]{1,14})-[0-9a-f]{24}$/;
const ID_SUFFIX = /p[0-9a-f]{1,14}-[0-9a-f]{24}$/;
/** A part's token: its offset and size, decimal. */
const TOKEN = /^(\d{1,16})\+(\d{1,16})$/;
/** Bytes one positional write takes at most. */
const MAX_WRITE = 1024 * 1024;

function isSafeCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/**
 * Parted writes to a local file: `begin` makes a temp file beside the
 * key's path (named as the store's other temp files are, so listings hide
 * it and `removeTemporaryFiles` sweeps it after a crash), sized up front;
 * parts are positional writes into it from any process; `complete` checks
 * the parts cover it and renames it into place. The upload id is the temp file's name, so any
 * replica sharing the folder finds it again from the key and the id.
 */
export class LocalPartedWrites implements PartedWrites {
  readonly partSizeMultiple = 1;
  readonly maxSize = Number.MAX_SAFE_INTEGER;

  constructor(
    private readonly host: LocalPartsHost,
    private readonly names: TempNames,
  ) {}

  async begin(
    key: string,
    hints: { size: number; signal?: AbortSignal },
  ): Promise<string> {
    const size = hints?.size;
    if (!isSafeCount(size)) {
      throw new InputError(`Invalid size for a parted write of '${key}'`);
    }
    hints?.signal?.throwIfAborted();
    const full = await this.host.writablePath(key);
    const random = randomBytes(12).toString('hex');
    const uploadId = `${this.names.prefix(full)}p${size.toString(
      16,
    )}-${random}`;
    const temp = path.join(path.dirname(full), uploadId);
    const handle = await fs.open(temp, 'wx');
    try {
      await handle.truncate(size);
    } catch (e) {
      await handle.close();
      await fs.rm(temp, { force: true });
      throw e;
    }
    await handle.close();
    return uploadId;
  }

  async writePart(
    key: string,
    uploadId: string,
    part: PartRange,
    body: Readable,
    hints?: { signal?: AbortSignal },
  ): Promise<PartResult> {
    const { number, offset, size } = part ?? {};
    if (
      !Number.isSafeInteger(number) ||
      number < 1 ||
      !isSafeCount(offset) ||
      !isSafeCount(size) ||
      !isSafeCount(offset + size)
    ) {
      throw new InputError(`Invalid part of the parted write of '${key}'`);
    }
    const upload = await this.locate(key, uploadId);
    hints?.signal?.throwIfAborted();
    const handle = await this.openTemp(key, upload.temp);
    try {
      if (offset + size > upload.size) {
        throw new InputError(
          `Part ${number} of '${key}' ends past the object's ${upload.size} bytes`,
        );
      }
      let written = 0;
      const sink = new Writable({
        highWaterMark: MAX_WRITE,
        write(chunk: Buffer, _encoding, callback) {
          if (written + chunk.length > size) {
            // Nothing past the part's end is written.
            callback(
              new InputError(
                `Part ${number} of '${key}' got more than its ${size} bytes`,
              ),
            );
            return;
          }
          const position = offset + written;
          written += chunk.length;
          writeFully(handle, chunk, position).then(() => callback(), callback);
        },
        final(callback) {
          callback(
            written === size
              ? undefined
              : new InputError(
                  `Part ${number} of '${key}' got ${written} of its ${size} bytes`,
                ),
          );
        },
      });
      await pipeStreams(body, sink, hints?.signal);
      return { token: `${offset}+${size}`, size: written };
    } finally {
      await handle.close();
    }
  }

  async complete(
    key: string,
    uploadId: string,
    parts: Array<{ number: number; token: string }>,
    hints?: { signal?: AbortSignal },
  ): Promise<WriteResult> {
    const upload = await this.locate(key, uploadId);
    hints?.signal?.throwIfAborted();
    const handle = await this.openTemp(key, upload.temp);
    try {
      const { size } = await handle.stat();
      if (size !== upload.size) {
        throw new InputError(
          `The parted write of '${key}' holds ${size} bytes, not ${upload.size}`,
        );
      }
      checkCoverage(key, upload.size, parts);
      // No fsync, as for whole-object writes (`atomically`): flushing a
      // large object here cost more than its copy (2 GiB: +2.3 s), and
      // validation re-reads what the target holds before cutover.
    } finally {
      await handle.close();
    }
    // The key's folder could have been swapped for a symlink since begin.
    const full = await this.host.writablePath(key);
    try {
      await fs.rename(upload.temp, full);
    } catch (e: any) {
      if (e?.code === 'ENOENT') throw this.gone(key);
      throw e;
    }
    return { size: upload.size, checksums: {} };
  }

  async abort(key: string, uploadId: string): Promise<void> {
    let temp: string;
    try {
      ({ temp } = await this.locate(key, uploadId));
    } catch (e) {
      if (e instanceof NotFoundError) return;
      throw e;
    }
    await fs.rm(temp, { force: true });
  }

  private gone(key: string) {
    return new NotFoundError(
      `The parted write of '${key}' in ${this.host.location.uri} does not exist (completed or aborted)`,
    );
  }

  /**
   * The temp file of upload `uploadId` of `key`, and the size it was begun
   * with. Refuses (`InputError`) an id that is not a bare temp file name;
   * an id of another key's upload, or a folder that is gone, is a
   * `NotFoundError`. Makes no folder.
   */
  private async locate(key: string, uploadId: string) {
    if (
      typeof uploadId !== 'string' ||
      uploadId === '.' ||
      uploadId === '..' ||
      /[/\\\0]/.test(uploadId) ||
      Buffer.byteLength(uploadId) > 255 ||
      !this.names.isTempName(uploadId) ||
      !ID_SUFFIX.test(uploadId)
    ) {
      throw new InputError(`Invalid upload id for '${key}'`);
    }
    const full = keyPath(this.host.dir, key);
    const prefix = this.names.prefix(full);
    const suffix = UPLOAD_SUFFIX.exec(uploadId.slice(prefix.length));
    if (!uploadId.startsWith(prefix) || !suffix) {
      throw this.gone(key);
    }
    const size = parseInt(suffix[1], 16);
    if (!isSafeCount(size)) {
      throw new InputError(`Invalid upload id for '${key}'`);
    }
    const parent = path.dirname(full);
    const real = await fs.realpath(parent).catch(e => {
      if (e?.code === 'ENOENT' || e?.code === 'ENOTDIR') throw this.gone(key);
      throw e;
    });
    assertRealInside(this.host.dir, key, real);
    return { temp: path.join(parent, uploadId), size };
  }

  /** Opens the temp file for positional writes, never through a symlink. */
  private async openTemp(key: string, temp: string) {
    const handle = await fs
      .open(temp, fsConstants.O_RDWR | fsConstants.O_NOFOLLOW)
      .catch(e => {
        if (e?.code === 'ENOENT') throw this.gone(key);
        if (e?.code === 'ELOOP') {
          throw new NotAllowedError(
            `The parted write of '${key}' is not a regular file`,
          );
        }
        throw e;
      });
    const st = await handle.stat().catch(async e => {
      await handle.close();
      throw e;
    });
    if (!st.isFile()) {
      await handle.close();
      throw new NotAllowedError(
        `The parted write of '${key}' is not a regular file`,
      );
    }
    return handle;
  }
}

/** Writes all of `chunk` at `position`, in writes of at most 1 MiB. */
async function writeFully(
  handle: fs.FileHandle,
  chunk: Buffer,
  position: number,
) {
  let done = 0;
  while (done < chunk.length) {
    const { bytesWritten } = await handle.write(
      chunk,
      done,
      Math.min(MAX_WRITE, chunk.length - done),
      position + done,
    );
    done += bytesWritten;
  }
}

/**
 * Checks that `parts`, in number order, cover `[0, size)` without a gap or
 * an overlap (each token holds its part's offset and size).
 */
function checkCoverage(
  key: string,
  size: number,
  parts: Array<{ number: number; token: string }>,
) {
  if (!Array.isArray(parts)) {
    throw new InputError(`Invalid parts for '${key}'`);
  }
  const sorted = [...parts].sort((a, b) => a.number - b.number);
  let end = 0;
  sorted.forEach((part, i) => {
    const token = TOKEN.exec(typeof part?.token === 'string' ? part.token : '');
    if (
      !token ||
      !Number.isSafeInteger(part.number) ||
      part.number < 1 ||
      sorted[i - 1]?.number === part.number
    ) {
      throw new InputError(`Invalid part ${part?.number} for '${key}'`);
    }
    if (Number(token[1]) !== end) {
      throw new InputError(
        `Part ${part.number} of '${key}' starts at ${token[1]}, not at ${end}`,
      );
    }
    end += Number(token[2]);
  });
  if (end !== size) {
    throw new InputError(
      `The parts of '${key}' cover ${end} of its ${size} bytes`,
    );
  }
}

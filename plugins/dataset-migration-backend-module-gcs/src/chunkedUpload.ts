import type { Readable } from 'node:stream';
import type { FileMetadata } from '@google-cloud/storage';
import { InputError } from '@backstage/errors';
import {
  crc32cToBase64,
  RetryableUnavailableError,
} from '@internal/backstage-plugin-dataset-migration-node';
import { isConnectionError, toGcsError } from './errors';
import {
  finishedAt,
  ListedChecksums,
  refused,
  RETRYABLE_STATUS,
  retryDelay,
  sentChecksums,
} from './chunkAnswers';
import {
  Answer,
  confirmedBy,
  uploadRequest,
  SessionRequest,
  SessionWrite,
  statusError,
} from './sessionRequest';
import { SourceCursor, SourceError } from './sourceCursor';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ChunkedUploadOptions extends SessionRequest {
  /** Exact size of the object. */
  size: number;
  /** Bytes per request; a multiple of 256 KiB. */
  chunkBytes: number;
  /**
   * Bytes per request when streamed (see `reread`), a multiple of 256 KiB:
   * no chunk is kept then, so a request can be as large as GCS advises
   * (as few as possible); default `chunkBytes`.
   */
  streamedRequestBytes?: number;
  /** Retries of one request after a 408 / 429 / 5xx or a dropped connection. */
  maxRetries: number;
  /** `gs://bucket/key`, for messages. */
  describe: string;
  /**
   * Checksums (hex) the source's bytes were listed with. GCS is sent these
   * instead of a CRC32C computed here, so it refuses other bytes end to end.
   */
  expected?: ListedChecksums;
  /**
   * The source's bytes again from `start` (`WriteHints.reread`). With it
   * and listed checksums, no chunk is kept: the bytes go to the request as
   * the source delivers them (through one 1 MiB buffer), and a chunk GCS did
   * not get all of is re-read from the byte GCS has.
   */
  reread?: (start: number) => Promise<Readable>;
}

/** Bytes read from the source before they are written to the request. */
const WRITE_BYTES = 1024 * 1024;

class ChunkedUpload {
  readonly #source: SourceCursor;
  readonly #options: ChunkedUploadOptions;
  /** The listed checksums sent to GCS, base64; else the CRC32C below is. */
  readonly #listed: Record<string, string> | undefined;
  /**
   * Streamed: a chunk's bytes go from the source to the request as they
   * come, kept nowhere, and are re-read after a failure. Possible when GCS
   * is sent listed checksums (no CRC32C to compute over the bytes in order)
   * and the source can be re-read (`reread`).
   */
  readonly #streamed: boolean;
  /**
   * The chunk being sent: [offset, end), and its bytes read so far, copied
   * into one buffer the upload reuses for every chunk. (Keeping the
   * source's own buffers until GCS confirmed them made each survive into
   * V8's old generation: 2 GiB of them cost full collections.)
   */
  #offset = 0;
  #end = 0;
  #chunk: Buffer | undefined;
  #keptBytes = 0;
  /**
   * Streamed: the source's buffers are copied into this one (so they die
   * young) and it goes to the socket whole, WRITE_BYTES at a time. Writing
   * each source buffer as it came (no copy) cost more CPU: 64 KiB socket
   * writes, and buffers that lived until the socket took them.
   */
  #stage: Buffer | undefined;
  /** Retries spent on the chunk being sent. */
  #retries = 0;

  constructor(body: Readable, options: ChunkedUploadOptions) {
    this.#options = options;
    this.#listed = sentChecksums(options.expected);
    this.#streamed = Boolean(this.#listed && options.reread);
    this.#source = new SourceCursor(body, {
      signal: options.signal,
      // Without listed checksums, GCS is sent the CRC32C of what was read.
      crc32c: !this.#listed,
      reread: this.#streamed ? options.reread : undefined,
    });
  }

  /** What GCS checks the object's bytes against: `{ crc32c?, md5? }`, base64. */
  get #checksums(): Record<string, string> {
    return this.#listed ?? { crc32c: crc32cToBase64(this.#source.crc32c) };
  }

  get #what() {
    return `Writing ${this.#options.describe}`;
  }

  async send(): Promise<FileMetadata> {
    const { size, chunkBytes, streamedRequestBytes } = this.#options;
    const requestBytes = this.#streamed
      ? streamedRequestBytes ?? chunkBytes
      : chunkBytes;
    while (this.#offset < size) {
      this.#end = Math.min(this.#offset + requestBytes, size);
      this.#keptBytes = 0;
      this.#retries = 0;
      const final = this.#end === size;
      // Its request carries the checksums: unless they are the listed
      // ones, the last chunk is read (and hashed) before it is sent.
      if (final && !this.#streamed) {
        await this.#readFinalChunk();
      }
      const metadata = await this.#sendChunk(final);
      if (metadata) return metadata;
      this.#offset = this.#end;
    }
    // A zero-byte object is never sent this way (it is not resumable).
    throw new Error(`${this.#what}: nothing to send`);
  }

  /** A source that delivered fewer bytes than the object's size, or more. */
  #short(delivered: number | 'more') {
    return new InputError(
      `${this.#what}: expected ${
        this.#options.size
      } bytes but the source delivered ${delivered}`,
    );
  }

  /** Checks the source ends where the object does. */
  async #checkEnded() {
    if (!(await this.#source.ended())) throw this.#short('more');
  }

  /** The chunk's next bytes from the source, kept (copied into the chunk buffer) until GCS has them. */
  async #keep(): Promise<void> {
    const buffer = await this.#source.pull(
      this.#end - this.#offset - this.#keptBytes,
    );
    if (!buffer) throw this.#short(this.#offset + this.#keptBytes);
    this.#chunk ??= Buffer.allocUnsafeSlow(
      Math.min(this.#options.chunkBytes, this.#options.size),
    );
    buffer.copy(this.#chunk, this.#keptBytes);
    this.#keptBytes += buffer.length;
  }

  get #chunkRead() {
    return this.#offset + this.#keptBytes >= this.#end;
  }

  /** Reads the last chunk whole (its request carries the checksums), and checks the source ends there. */
  async #readFinalChunk() {
    try {
      while (!this.#chunkRead) await this.#keep();
      await this.#checkEnded();
    } catch (e) {
      throw e instanceof SourceError ? e.original : e;
    }
  }

  /** Writes the chunk's bytes from `from` on: kept ones, then from the source. */
  async #writeFrom(from: number, write: SessionWrite) {
    if (this.#streamed) {
      await this.#streamFrom(write);
      return;
    }
    let sent = from - this.#offset;
    const flush = async () => {
      if (sent >= this.#keptBytes) return;
      const bytes = this.#chunk!.subarray(sent, this.#keptBytes);
      sent = this.#keptBytes;
      await write(bytes);
    };
    await flush();
    while (!this.#chunkRead) {
      await this.#keep();
      // Up to WRITE_BYTES at a time: one socket write, not one per buffer.
      if (this.#keptBytes - sent >= WRITE_BYTES) await flush();
    }
    await flush();
  }

  /**
   * Streamed: the chunk's bytes from the source's position (where the
   * request starts) to its end, copied into the 1 MiB stage buffer and
   * written from there.
   */
  async #streamFrom(write: SessionWrite) {
    while (this.#source.position < this.#end) {
      const bytes = Math.min(WRITE_BYTES, this.#end - this.#source.position);
      this.#stage ??= Buffer.allocUnsafeSlow(
        Math.min(WRITE_BYTES, this.#options.size),
      );
      let filled = 0;
      while (filled < bytes) {
        const buffer = await this.#source.pull(bytes - filled);
        if (!buffer) throw this.#short(this.#source.position);
        buffer.copy(this.#stage, filled);
        filled += buffer.length;
      }
      this.#keptBytes = this.#source.position - this.#offset;
      // Refilled only once the socket has taken it.
      await write(this.#stage.subarray(0, filled), { flushed: true });
    }
    if (this.#end === this.#options.size) await this.#checkEnded();
  }

  /**
   * Sends the chunk until GCS confirms all of it: re-sent from what GCS has
   * after a failure. Returns the object's metadata once the last is stored.
   */
  async #sendChunk(final: boolean): Promise<FileMetadata | undefined> {
    const { size } = this.#options;
    const end = this.#end;
    let from = this.#offset;
    for (;;) {
      if (from >= end) {
        // GCS has the whole chunk: the answer to it was lost.
        if (!final) return undefined;
        throw new RetryableUnavailableError(
          `${this.#what}: GCS has every byte but did not finish the object`,
        );
      }
      let answer: Answer;
      const start = from;
      if (this.#streamed && from !== this.#source.position) {
        try {
          await this.#source.rereadFrom(from);
        } catch (e) {
          throw e instanceof SourceError ? e.original : e;
        }
      }
      try {
        answer = await uploadRequest(
          this.#options,
          {
            'Content-Length': String(end - from),
            'Content-Range': `bytes ${from}-${end - 1}/${size}`,
            ...(final && {
              'X-Goog-Hash': Object.entries(this.#checksums)
                .map(([algorithm, value]) => `${algorithm}=${value}`)
                .join(','),
            }),
          },
          write => this.#writeFrom(start, write),
        );
      } catch (e) {
        if (e instanceof SourceError) throw e.original;
        if (!isConnectionError(e)) throw e;
        from = await this.#afterFailure(toGcsError(e, this.#what));
        continue;
      }
      if (answer.status === 200 || answer.status === 201) {
        return this.#finished(answer, final);
      }
      if (answer.status === 308) {
        const got = confirmedBy(answer);
        if (got >= end) return undefined;
        if (got > from) {
          // Part of the chunk arrived: send the rest, no retry spent.
          from = Math.max(got, this.#offset);
          continue;
        }
        from = await this.#afterFailure(
          new RetryableUnavailableError(
            `${this.#what}: GCS kept none of the ${
              end - from
            } bytes sent from byte ${from}`,
          ),
        );
        continue;
      }
      const error = statusError(answer);
      if (!RETRYABLE_STATUS.has(answer.status)) {
        throw refused(this.#options, answer.status, error);
      }
      from = await this.#afterFailure(toGcsError(error, this.#what));
    }
  }

  /** GCS stored the object: at its size, with the checksums it was sent. */
  #finished(answer: Answer, final: boolean): FileMetadata {
    const metadata = JSON.parse(answer.body) as FileMetadata;
    const stored = Number(metadata.size);
    if (!final || stored !== this.#options.size) {
      throw finishedAt(
        this.#options.describe,
        stored,
        this.#offset + this.#keptBytes,
        !final,
      );
    }
    const kept: Record<string, unknown> = {
      crc32c: metadata.crc32c,
      md5: metadata.md5Hash,
    };
    for (const [algorithm, sent] of Object.entries(this.#checksums)) {
      if (kept[algorithm] !== sent) {
        throw new RetryableUnavailableError(
          `${this.#what}: GCS stored ${algorithm} ${
            kept[algorithm]
          }, but the bytes sent have ${sent}`,
        );
      }
    }
    return metadata;
  }

  /**
   * Spends a retry (or throws `reason` when none is left), waits, and
   * returns where to re-send the chunk from.
   */
  async #afterFailure(reason: Error): Promise<number> {
    const { maxRetries, signal } = this.#options;
    if (this.#retries >= maxRetries || signal?.aborted) throw reason;
    this.#retries++;
    await sleep(retryDelay(this.#retries), undefined, {
      signal,
    });
    return this.#confirmed();
  }

  /**
   * Asks the session how many bytes it has (retrying like a chunk), and
   * checks they reach the chunk being sent: earlier bytes are no longer kept.
   */
  async #confirmed(): Promise<number> {
    const { size, maxRetries, signal } = this.#options;
    for (let attempt = 0; ; attempt++) {
      let answer: Answer | undefined;
      let failure: unknown;
      try {
        answer = await uploadRequest(this.#options, {
          'Content-Length': '0',
          'Content-Range': `bytes */${size}`,
        });
      } catch (e) {
        if (!isConnectionError(e)) throw e;
        failure = e;
      }
      if (answer?.status === 308) {
        const got = confirmedBy(answer);
        if (got < this.#offset) {
          throw new RetryableUnavailableError(
            `${this.#what}: the upload session lost bytes ${got}-${
              this.#offset - 1
            }, which were confirmed before`,
          );
        }
        return Math.min(got, this.#end);
      }
      if (answer?.status === 200 || answer?.status === 201) {
        // Finalised by the request that failed on our side: re-sent, the
        // chunk is answered with the object.
        return this.#offset;
      }
      const error = answer ? statusError(answer) : failure;
      if (answer && !RETRYABLE_STATUS.has(answer.status)) {
        throw refused(this.#options, answer.status, error as Error);
      }
      if (attempt >= maxRetries) throw toGcsError(error, this.#what);
      await sleep(retryDelay(attempt + 1), undefined, {
        signal,
      });
    }
  }
}

/**
 * Sends `body` (exactly `options.size` bytes) to a resumable upload session,
 * one request per chunk, with no stream or fetch layers per buffer. A failed
 * or partly received request is re-sent from the last byte GCS has (asked
 * with a status query), as the client library does; the last request
 * carries the object's checksums, so GCS refuses to finalise other bytes.
 *
 * - With the checksums the source was listed with (`expected`) and a way to
 *   re-read it (`reread`), the bytes go to the request as the source
 *   delivers them, 1 MiB at a time through one small buffer: no chunk is
 *   kept and nothing is hashed here, and a re-send reads the source again
 *   from the byte GCS has.
 * - Otherwise each buffer is copied into the upload's one chunk buffer and
 *   sent from there as it arrives, kept until GCS confirms the chunk; the
 *   last chunk is read whole first, so its request can carry the CRC32C
 *   computed here (or the listed checksums).
 *
 * Returns the object's metadata.
 */
export function sendChunkedUpload(
  body: Readable,
  options: ChunkedUploadOptions,
): Promise<FileMetadata> {
  return new ChunkedUpload(body, options).send();
}

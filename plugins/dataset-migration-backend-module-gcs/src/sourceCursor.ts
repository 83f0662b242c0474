import { addAbortSignal, Readable } from 'node:stream';
import { crc32c } from '@internal/backstage-plugin-dataset-migration-node';

/** The source failed (or could not be read again): its error stands. */
export class SourceError extends Error {
  constructor(readonly original: unknown) {
    super('source failed');
  }
}

/**
 * The body of a chunked upload, read up to a limit at a time: the bytes of
 * a buffer past the limit wait for the next read. Knows the offset it has
 * read to, hashes CRC32C on the way when asked, and can read the source
 * again from an offset (`WriteHints.reread`). Errors of the source come as
 * {@link SourceError}.
 */
export class SourceCursor {
  #source: AsyncIterator<unknown>;
  #spare: Buffer | undefined;
  #position = 0;
  #crc = 0;

  constructor(
    body: Readable,
    private readonly options: {
      signal?: AbortSignal;
      /** CRC32C every byte read (not after a re-read). */
      crc32c: boolean;
      reread?: (start: number) => Promise<Readable>;
    },
  ) {
    this.#source = this.#iterate(body);
  }

  /** Offset in the object of the next byte `pull` returns. */
  get position() {
    return this.#position;
  }

  /** CRC32C of the bytes read, when asked for. */
  get crc32c() {
    return this.#crc;
  }

  #iterate(body: Readable) {
    // The signal also ends a read of the source that waits for bytes.
    if (this.options.signal) addAbortSignal(this.options.signal, body);
    return body[Symbol.asyncIterator]();
  }

  /** Up to `max` more bytes; undefined when the source ended. */
  async pull(max: number): Promise<Buffer | undefined> {
    let buffer = this.#spare;
    this.#spare = undefined;
    if (!buffer) {
      let next;
      try {
        next = await this.#source.next();
      } catch (e) {
        throw new SourceError(e);
      }
      if (next.done) return undefined;
      buffer = Buffer.isBuffer(next.value)
        ? next.value
        : Buffer.from(next.value as string);
      if (this.options.crc32c) this.#crc = crc32c(buffer, this.#crc);
    }
    if (buffer.length > max) {
      this.#spare = buffer.subarray(max);
      buffer = buffer.subarray(0, max);
    }
    this.#position += buffer.length;
    return buffer;
  }

  /** Whether the source has no byte left. */
  async ended(): Promise<boolean> {
    if (this.#spare) return false;
    try {
      return Boolean((await this.#source.next()).done);
    } catch (e) {
      throw new SourceError(e);
    }
  }

  /** Leaves the source being read and reads it again from `start`. */
  async rereadFrom(start: number): Promise<void> {
    const { reread } = this.options;
    if (!reread) throw new Error('The source cannot be read again');
    try {
      await this.#source.return?.();
      this.#source = this.#iterate(await reread(start));
    } catch (e) {
      throw new SourceError(e);
    }
    this.#spare = undefined;
    this.#position = start;
  }
}

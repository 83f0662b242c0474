import type {
  File,
  FileMetadata,
  GetFilesOptions,
} from '@google-cloud/storage';
import { PassThrough, Readable } from 'node:stream';
import { InputError, NotFoundError } from '@backstage/errors';
import {
  Checksums,
  DatasetLocation,
  validateKey,
} from '@internal/backstage-plugin-dataset-migration-common';
import {
  base64ToHex,
  ByteRange,
  isRetryableError,
  ListOptions,
  ObjectInfo,
  ObjectStore,
  RetryableUnavailableError,
  StoreCapabilities,
  WriteHints,
  WriteResult,
} from '@internal/backstage-plugin-dataset-migration-node';
import { sendChunkedUpload } from './chunkedUpload';
import { writeThroughClient } from './clientUpload';
import { isGcsNotFound, toGcsError, toGcsProbeError } from './errors';
import type { GcsStorageBackend } from './GcsStorageBackend';
import { measureSmallBody, readWholeBody } from './measureBody';
import { sendSmallUpload } from './smallUpload';

/** md5/crc32c of an object's metadata, as lowercase hex. */
export function checksumsOf(metadata: FileMetadata): Checksums {
  const result: Checksums = {};
  // Composite objects have a crc32c but no md5Hash.
  if (metadata.md5Hash) {
    result.md5 = base64ToHex(metadata.md5Hash);
  }
  if (metadata.crc32c) {
    result.crc32c = base64ToHex(metadata.crc32c);
  }
  return result;
}

/** One `gs://bucket/prefix` location. */
export class GcsObjectStore implements ObjectStore {
  readonly backendId = 'gcs';
  readonly capabilities: StoreCapabilities = {
    checksums: ['md5', 'crc32c'],
    serverSideCopy: true,
    multipart: true,
    // Every write checks the crc32c of the bytes it is given against what
    // GCS stored: the client's `validation: 'crc32c'`, or (chunked uploads)
    // the X-Goog-Hash GCS checks before finalising and a comparison with the
    // object it answers. So the crc32c write() returns is that of the bytes
    // sent — and so is the md5 GCS computed over the bytes it stored (every
    // object `write` makes is a plain upload, never a composite without
    // md5). Hashing md5 here as well cost ~1.5 s of CPU per GiB.
    writeChecksums: ['crc32c', 'md5'],
    // objects.list: lexicographic (UTF-8 byte) order, startOffset.
    listsInKeyOrder: true,
  };
  readonly #prefix: string;

  constructor(
    readonly backend: GcsStorageBackend,
    readonly location: DatasetLocation,
  ) {
    this.#prefix = location.path ? `${location.path}/` : '';
  }

  get bucket() {
    return this.backend.storage.bucket(this.location.bucket);
  }

  file(key: string): File {
    try {
      return this.bucket.file(this.#prefix + validateKey(key));
    } catch (e) {
      throw new InputError(`Invalid object key: ${(e as Error).message}`);
    }
  }

  describe(key: string) {
    return `gs://${this.location.bucket}/${this.#prefix}${key}`;
  }

  #info(metadata: FileMetadata): ObjectInfo | undefined {
    const key = (metadata.name ?? '').slice(this.#prefix.length);
    // Zero-byte `folder/` placeholders made by consoles are not data.
    if (!key || key.endsWith('/')) {
      return undefined;
    }
    return {
      key,
      size: Number(metadata.size ?? 0),
      etag: metadata.generation ? String(metadata.generation) : metadata.etag,
      checksums: checksumsOf(metadata),
      lastModified: metadata.updated ? new Date(metadata.updated) : undefined,
    };
  }

  async *list(options?: ListOptions): AsyncIterable<ObjectInfo> {
    const after =
      options?.startAfter === undefined
        ? undefined
        : this.#prefix + options.startAfter;
    let query: GetFilesOptions | null = {
      prefix: this.#prefix || undefined,
      maxResults: Math.min(
        this.backend.options.listPageSize,
        options?.pageSizeHint ?? this.backend.options.listPageSize,
      ),
      autoPaginate: false,
      // Inclusive: the key itself is skipped below.
      ...(after !== undefined && { startOffset: after }),
    };
    while (query) {
      options?.signal?.throwIfAborted();
      await this.backend
        .limiter(this.location.bucket, 'read')
        .acquire(options?.signal);
      let files: File[];
      let next: GetFilesOptions | null;
      try {
        [files, next] = (await this.bucket.getFiles(query)) as unknown as [
          File[],
          GetFilesOptions | null,
        ];
      } catch (e) {
        throw toGcsError(
          e,
          `Listing gs://${this.location.bucket}/${this.#prefix}`,
        );
      }
      for (const file of files) {
        if (file.name === after) continue;
        const info = this.#info(file.metadata);
        if (info) {
          yield info;
        }
      }
      query = next?.pageToken ? next : null;
    }
  }

  /**
   * Lists one object under the prefix: needs only storage.objects.list (what
   * a listing needs anyway) and tells a missing bucket, denied access and a
   * dead endpoint apart. The client takes no signal, so the call is raced
   * against it: a retry or credential lookup may go on in the background,
   * but the answer comes when the signal fires.
   */
  async probe(options?: { signal?: AbortSignal }): Promise<void> {
    const { signal } = options ?? {};
    const { uri, bucket } = this.location;
    signal?.throwIfAborted();
    // One retry at most (~1-2 s of backoff): a dead endpoint is reported as
    // such rather than as a timeout, a single transient error is absorbed.
    const listing = this.bucket.request({
      uri: '/o',
      qs: { maxResults: 1, ...(this.#prefix && { prefix: this.#prefix }) },
      maxRetries: Math.min(1, this.backend.options.maxRetries),
    });
    listing.catch(() => undefined);
    let onAbort = () => {};
    const timedOut = new Promise<'timed out'>(resolve => {
      onAbort = () => resolve('timed out');
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    let outcome;
    try {
      outcome = await Promise.race([listing, timedOut]);
    } catch (e) {
      throw toGcsProbeError(e, uri, bucket);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (outcome === 'timed out') {
      throw toGcsProbeError({ code: 'ETIMEDOUT' }, uri, bucket);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const file = this.file(key);
    await this.backend.limiter(this.location.bucket, 'read').acquire();
    try {
      const [metadata] = await file.getMetadata();
      return this.#info(metadata);
    } catch (e) {
      if (isGcsNotFound(e)) {
        return undefined;
      }
      throw toGcsError(e, `Reading metadata of ${this.describe(key)}`);
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const info = await this.stat(key);
    if (!info) {
      throw new NotFoundError(
        `Reading ${this.describe(key)}: object not found`,
      );
    }
    // Pin the generation we just saw, so a concurrent overwrite cannot mix
    // two versions into one read.
    const file = this.bucket.file(this.#prefix + key, {
      generation: info.etag ? Number(info.etag) : undefined,
    });
    if (info.size === 0) {
      return Readable.from([]);
    }
    const stream = file.createReadStream(
      range
        ? { start: range.start, end: range.end, validation: false }
        : { validation: 'crc32c' },
    );
    // Errors while streaming (resets, a CRC32C mismatch) become named,
    // retryable errors like those of the other calls.
    const out = new PassThrough();
    stream.on('error', e =>
      out.destroy(toGcsError(e, `Reading ${this.describe(key)}`)),
    );
    return stream.pipe(out);
  }

  async write(
    key: string,
    input: Readable,
    inputHints?: WriteHints,
  ): Promise<WriteResult> {
    let body = input;
    let hints = inputHints;
    const file = this.file(key);
    const { options } = this.backend;
    await this.backend
      .limiter(this.location.bucket, 'write')
      .acquire(hints?.signal);
    if (hints?.size === undefined) {
      // Unknown length: a body that ends below the threshold goes in one
      // request like a sized one. (For an empty body the client's chunked
      // session would send the invalid `Content-Range: bytes 0--1/0`.)
      const measured = await measureSmallBody(
        body,
        options.resumableThresholdBytes,
        hints?.signal,
      );
      body = measured.body;
      hints = { ...hints, size: measured.size };
    }
    const size = hints?.size;
    if (size !== undefined && this.backend.directUploads) {
      return size >= options.resumableThresholdBytes
        ? this.#writeChunked(file, key, body, { ...hints, size })
        : this.#writeSmall(file, key, body, { ...hints, size });
    }
    const written = await writeThroughClient(file, body, {
      ...hints,
      size,
      resumableThresholdBytes: options.resumableThresholdBytes,
      chunkBytes: options.resumableChunkBytes,
      describe: this.describe(key),
    });
    return this.#written(key, written.size, written.metadata);
  }

  /**
   * A large object of known size: a resumable session the client starts
   * (credentials, retries), whose chunks go straight from the source's
   * buffers to the session URI (`chunkedUpload.ts`).
   */
  async #writeChunked(
    file: File,
    key: string,
    body: Readable,
    hints: WriteHints & { size: number },
  ): Promise<WriteResult> {
    const { options } = this.backend;
    return this.#sent(key, body, hints.size, async () => {
      hints.signal?.throwIfAborted();
      const [uri] = await file.createResumableUpload({
        metadata: hints.contentType
          ? { contentType: hints.contentType }
          : undefined,
      });
      return sendChunkedUpload(body, {
        uri,
        size: hints.size,
        chunkBytes: options.resumableChunkBytes,
        streamedRequestBytes: options.streamedRequestBytes,
        maxRetries: options.maxRetries,
        describe: this.describe(key),
        signal: hints.signal,
        expected: hints.expected,
        reread: hints.reread,
      });
    });
  }

  /** A small object of known size: one multipart POST (`smallUpload.ts`). */
  async #writeSmall(
    file: File,
    key: string,
    body: Readable,
    hints: WriteHints & { size: number },
  ): Promise<WriteResult> {
    return this.#sent(key, body, hints.size, async () =>
      sendSmallUpload(this.backend.storage, {
        bucket: this.location.bucket,
        name: file.name,
        body: await readWholeBody(
          body,
          hints.size,
          `Writing ${this.describe(key)}`,
          hints.signal,
        ),
        contentType: hints.contentType,
        expected: hints.expected,
        maxRetries: this.backend.options.maxRetries,
        describe: this.describe(key),
        signal: hints.signal,
      }),
    );
  }

  /**
   * A write sent here rather than by the client library: its failures as
   * the store reports them (the body released), its result checked.
   */
  async #sent(
    key: string,
    body: Readable,
    size: number,
    send: () => Promise<FileMetadata>,
  ): Promise<WriteResult> {
    let metadata: FileMetadata;
    try {
      metadata = await send();
    } catch (e) {
      body.destroy();
      throw e instanceof InputError || isRetryableError(e)
        ? e
        : toGcsError(e, `Writing ${this.describe(key)}`);
    }
    return this.#written(key, size, metadata);
  }

  /** What a write returns: the checksums GCS stored, which must exist. */
  #written(key: string, size: number, metadata: FileMetadata): WriteResult {
    const stored = checksumsOf(metadata);
    if (!stored.crc32c && !stored.md5) {
      throw new RetryableUnavailableError(
        `Writing ${this.describe(
          key,
        )}: GCS returned no checksum for the stored object`,
      );
    }
    return { size, checksums: stored };
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key);
    await this.backend.limiter(this.location.bucket, 'write').acquire();
    try {
      await file.delete({ ignoreNotFound: true });
    } catch (e) {
      throw toGcsError(e, `Deleting ${this.describe(key)}`);
    }
  }

  /** Server-side `rewrite` between stores of the same backend (same credentials). */
  async copyWithin(
    source: ObjectStore,
    sourceKey: string,
    targetKey: string,
  ): Promise<WriteResult | undefined> {
    if (
      !(source instanceof GcsObjectStore) ||
      source.backend !== this.backend
    ) {
      return undefined;
    }
    const from = source.file(sourceKey);
    const to = this.file(targetKey);
    await this.backend.limiter(this.location.bucket, 'write').acquire();
    try {
      // copy() follows rewrite tokens until GCS reports done.
      const [copied] = await from.copy(to);
      const [metadata] = await copied.getMetadata();
      return {
        size: Number(metadata.size ?? 0),
        checksums: checksumsOf(metadata),
      };
    } catch (e) {
      throw toGcsError(
        e,
        `Copying ${source.describe(sourceKey)} to ${this.describe(targetKey)}`,
      );
    }
  }
}

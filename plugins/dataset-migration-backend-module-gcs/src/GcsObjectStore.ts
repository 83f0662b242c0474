import type { File, FileMetadata } from '@google-cloud/storage';
import { Readable } from 'node:stream';
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
import {
  listPageThroughClient,
  metadataThroughClient,
  readThroughClient,
} from './clientReads';
import { toGcsError } from './errors';
import { probeListing } from './probe';
import { listPage, ObjectRequest, readMedia, readMetadata } from './fastReads';
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

  /** The object's full name: the prefix and `key`, once it is validated. */
  #name(key: string): string {
    try {
      return this.#prefix + validateKey(key);
    } catch (e) {
      throw new InputError(`Invalid object key: ${(e as Error).message}`);
    }
  }

  file(key: string): File {
    return this.bucket.file(this.#name(key));
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
    const page = {
      bucket: this.location.bucket,
      prefix: this.#prefix || undefined,
      // Inclusive: the key itself is skipped below.
      startOffset: after,
      maxResults: Math.min(
        this.backend.options.listPageSize,
        options?.pageSizeHint ?? this.backend.options.listPageSize,
      ),
      maxRetries: this.backend.options.maxRetries,
      describe: `gs://${this.location.bucket}/${this.#prefix}`,
      signal: options?.signal,
    };
    let pageToken: string | undefined;
    do {
      options?.signal?.throwIfAborted();
      await this.backend
        .limiter(this.location.bucket, 'read')
        .acquire(options?.signal);
      const listed = this.backend.directReads
        ? await listPage(this.backend.storage, { ...page, pageToken })
        : await listPageThroughClient(this.bucket, { ...page, pageToken });
      for (const metadata of listed.items) {
        if (metadata.name === after) continue;
        const info = this.#info(metadata);
        if (info) {
          yield info;
        }
      }
      pageToken = listed.nextPageToken;
    } while (pageToken);
  }

  /** A listing of one object under the prefix (`probe.ts`). */
  async probe(options?: { signal?: AbortSignal }): Promise<void> {
    await probeListing(this.bucket, this.location, {
      prefix: this.#prefix,
      maxRetries: this.backend.options.maxRetries,
      signal: options?.signal,
    });
  }

  /** What a direct read of `key` needs (`fastReads.ts`). */
  #request(key: string): ObjectRequest {
    return {
      bucket: this.location.bucket,
      name: this.#name(key),
      maxRetries: this.backend.options.maxRetries,
      describe: this.describe(key),
    };
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const request = this.#request(key);
    await this.backend.limiter(this.location.bucket, 'read').acquire();
    const metadata = this.backend.directReads
      ? await readMetadata(this.backend.storage, request)
      : await metadataThroughClient(
          this.bucket.file(request.name),
          request.describe,
        );
    return metadata && this.#info(metadata);
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const request = this.#request(key);
    if (this.backend.directReads) {
      await this.backend.limiter(this.location.bucket, 'read').acquire();
      const body = await readMedia(this.backend.storage, { ...request, range });
      if (body === undefined) {
        throw new NotFoundError(
          `Reading ${request.describe}: object not found`,
        );
      }
      // 'gzip': stored gzip-encoded, read through the library (which
      // decompresses it, as it always has).
      if (body !== 'gzip') return body;
    }
    const info = await this.stat(key);
    if (!info) {
      throw new NotFoundError(`Reading ${request.describe}: object not found`);
    }
    const pinned = this.bucket.file(request.name, {
      generation: info.etag ? Number(info.etag) : undefined,
    });
    return readThroughClient(pinned, info.size, range, request.describe);
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

import type { Readable } from 'node:stream';
import type {
  ChecksumAlgorithm,
  Checksums,
  DatasetLocation,
} from '@internal/backstage-plugin-dataset-migration-common';

/**
 * One object in a store. Keys are relative to the store's root (the dataset
 * location), use `/` as separator and never start with `/`.
 *
 * @public
 */
export interface ObjectInfo {
  key: string;
  size: number;
  /** Opaque version marker (ETag, generation, mtime+inode…), if any. */
  etag?: string;
  /** Checksums the backend knows without reading the data. */
  checksums?: Checksums;
  lastModified?: Date;
}

/** @public */
export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

/** @public */
export interface WriteHints {
  /** Exact size of the body when known; lets backends choose multipart. */
  size?: number;
  contentType?: string;
  signal?: AbortSignal;
  /**
   * Checksums (lowercase hex) the body's bytes are known to have, from the
   * source's listing. A store whose server can refuse other bytes has it do
   * so (GCS: `X-Goog-Hash` with the final request), and need not hash the
   * body itself for that check. The caller still compares the checksums of
   * the {@link WriteResult}.
   */
  expected?: Pick<Checksums, 'md5' | 'crc32c'>;
  /**
   * The body's bytes again, from offset `start` to the end: a fresh read of
   * the same source object. A store that re-sends bytes after a failure
   * (GCS resumable chunks) re-reads them with this instead of keeping what
   * it sent until the server confirmed it. Given only when the body is the
   * source's bytes as they are (nothing hashes it on the way); `expected`
   * then guards against a source that changed between the reads.
   */
  reread?: (start: number) => Promise<Readable>;
}

/** @public */
export interface WriteResult {
  /** Bytes stored: those the body delivered. */
  size: number;
  /** Checksums of what was stored, as the backend computed or reported them. */
  checksums: Checksums;
}

/**
 * What a caller of `copyWithin` knows of the source object.
 *
 * @public
 */
export interface CopyHints {
  /** The source object's size in bytes, as listed. */
  size?: number;
}

/** @public */
export interface StoreCapabilities {
  /** Checksums `list`/`stat` return without reading data. */
  checksums: ChecksumAlgorithm[];
  /** Whether `copyWithin` can copy from another store of the same backend. */
  serverSideCopy: boolean;
  /** Whether large writes are split into parts / resumable sessions. */
  multipart: boolean;
  /**
   * Checksums `write` itself computes from the bytes it is given and returns
   * in {@link WriteResult.checksums}: a caller that wants them need not hash
   * the body a second time.
   */
  writeChecksums?: ChecksumAlgorithm[];
  /**
   * Whether `list` yields keys in UTF-8 byte order and honours
   * {@link ListOptions.startAfter} (S3, GCS): the engine then validates a
   * batch of objects with one listing instead of a `stat` each.
   */
  listsInKeyOrder?: boolean;
}

/**
 * Options of {@link ObjectStore.list}.
 *
 * @public
 */
export interface ListOptions {
  signal?: AbortSignal;
  /**
   * Only keys that sort after this one (UTF-8 byte order). Honoured by
   * stores that declare `capabilities.listsInKeyOrder`; others list all.
   */
  startAfter?: string;
  /**
   * A hint: the caller means to read about this many objects, so a store
   * asks for pages no larger (S3 `MaxKeys`, GCS `maxResults`). The listing
   * still goes on as long as it is read.
   */
  pageSizeHint?: number;
}

/**
 * One part of a parted write: bytes `[offset, offset + size)` of the object.
 *
 * @public
 */
export interface PartRange {
  /** 1-based, in byte order. */
  number: number;
  offset: number;
  size: number;
}

/**
 * What a backend returns for a written part: an opaque token to hand back
 * to {@link PartedWrites.complete} (an S3 part's ETags, nothing for a file).
 *
 * @public
 */
export interface PartResult {
  token: string;
  /** Bytes read from the body and stored. */
  size: number;
}

/**
 * Writes one object as parts that any process may write, in any order and in
 * parallel, and that one process completes later: the engine's chunk work
 * items for large objects. The upload id is the backend's (an S3 multipart
 * upload id, a temp file's name) and is persisted by the caller, so a part
 * can be (re)written after a crash by another replica. Nothing is visible at
 * the key before {@link PartedWrites.complete}; {@link PartedWrites.abort}
 * discards what was written.
 *
 * @public
 */
export interface PartedWrites {
  /**
   * Every part but the last must be a multiple of this many bytes (the S3
   * part size a part is uploaded in), and at least this large.
   */
  readonly partSizeMultiple: number;
  /**
   * The largest object a parted write takes (S3: 10,000 parts of
   * `partSizeMultiple`); the engine copies larger ones in one stream.
   */
  readonly maxSize: number;
  /** Starts a parted write of `size` bytes to `key`; returns its upload id. */
  begin(
    key: string,
    hints: { size: number; signal?: AbortSignal },
  ): Promise<string>;
  /**
   * Streams `body` (exactly `part.size` bytes) into the part. Writing a part
   * again replaces it. Throws a `NotFoundError` when the upload is gone.
   */
  writePart(
    key: string,
    uploadId: string,
    part: PartRange,
    body: Readable,
    hints?: { signal?: AbortSignal },
  ): Promise<PartResult>;
  /**
   * Makes the object visible at `key` from every part, in number order.
   * Throws a `NotFoundError` when the upload is gone (already completed or
   * aborted).
   */
  complete(
    key: string,
    uploadId: string,
    parts: Array<{ number: number; token: string }>,
    hints?: { signal?: AbortSignal },
  ): Promise<WriteResult>;
  /** Discards an unfinished write; an upload that is gone is not an error. */
  abort(key: string, uploadId: string): Promise<void>;
}

/**
 * A dataset location opened on a storage backend.
 *
 * @public
 */
export interface ObjectStore {
  readonly location: DatasetLocation;
  /** Id of the backend that opened this store (e.g. `local`, `s3`, `gcs`). */
  readonly backendId: string;
  readonly capabilities: StoreCapabilities;
  /**
   * Streams every object under the root, page by page. Never materialises the
   * whole listing. Order is not guaranteed, unless the store declares
   * `capabilities.listsInKeyOrder`.
   */
  list(options?: ListOptions): AsyncIterable<ObjectInfo>;
  /** Returns undefined when the object does not exist. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Throws a `NotFoundError` when the object does not exist. */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** Streams `body` into `key`, replacing what was there. */
  write(key: string, body: Readable, hints?: WriteHints): Promise<WriteResult>;
  /** Deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Server-side copy of `sourceKey` in `source` to `targetKey` in this store.
   * Returns undefined when it cannot (different backend, account or region);
   * the engine then streams the object instead. `hints.size`, when the
   * caller knows it (from a listing), spares a store that needs the size
   * (to choose a single or a multipart copy) a request for it.
   */
  copyWithin?(
    source: ObjectStore,
    sourceKey: string,
    targetKey: string,
    hints?: CopyHints,
  ): Promise<WriteResult | undefined>;
  /**
   * Parted writes of large objects, when the backend can write one object's
   * parts from several processes (S3 multipart uploads, positional writes
   * to a local temp file).
   */
  parts?: PartedWrites;
  /**
   * Checks, within a bounded time, that the location can be reached: the
   * bucket (or root folder) exists and the credentials work. Throws an
   * `InputError` / `NotAllowedError` / `NotFoundError` the API can return as is,
   * or a `ServiceUnavailableError` when the service does not answer. Messages
   * name the location only, never endpoints, addresses or server paths.
   */
  probe?(options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Folder-based stores only: an opaque marker of which folders on the way
   * to (and including) the root exist now, recorded before a migration
   * writes, so {@link ObjectStore.removeEmptyRoot} can restore that state.
   */
  captureRootState?(): Promise<string>;
  /**
   * Folder-based stores only: removes the root folder, and the ancestors that
   * did not exist when `state` was captured, as long as they are empty. Without
   * a state, removes only folders the backend itself owns (a backup area).
   */
  removeEmptyRoot?(state?: string): Promise<void>;
  /**
   * Removes the temporary files this backend's interrupted writes left under
   * the root (e.g. after a crash). Returns how many it removed.
   */
  removeTemporaryFiles?(): Promise<number>;
}

/**
 * A storage backend: knows one or more URI schemes and opens locations on them.
 * Credentials come from app-config, never from the location or a request.
 *
 * @public
 */
export interface StorageBackend {
  /** Short id used in logs and reports, e.g. `local`, `s3`, `gcs`. */
  readonly id: string;
  /** URI schemes it serves, e.g. `['s3']`. */
  readonly schemes: readonly string[];
  /**
   * Opens a location. Throws an `InputError` when the location is not allowed
   * (outside configured roots, unknown bucket…).
   */
  open(location: DatasetLocation): Promise<ObjectStore>;
  /**
   * Opens the store that keeps the originals of the objects migration
   * `migrationId` overwrites in `target`. It must lie outside every dataset
   * location (never inside `target`, never where a listing of a dataset
   * shows it); throws an `InputError` when the backend cannot guarantee that
   * for `target` (e.g. a bucket-root target with no separate backup bucket).
   */
  openBackupArea?(
    target: DatasetLocation,
    migrationId: string,
  ): Promise<ObjectStore>;
}

/**
 * Whether an error is worth retrying (network resets, 5xx, 429, throttling).
 * Backends throw a `RetryableError`; the `retryable: true` and `$retryable`
 * tags SDK errors carry count too, and so do 5xx/429 statuses and common
 * Node network error codes.
 *
 * @public
 */
export function isRetryableError(error: unknown): boolean {
  if (!error || typeof error !== 'object') {
    return false;
  }
  const e = error as {
    retryable?: boolean;
    code?: string;
    $retryable?: unknown;
    statusCode?: number;
    status?: number;
  };
  if (e.retryable === true || e.$retryable) {
    return true;
  }
  const status = e.statusCode ?? e.status;
  if (typeof status === 'number' && (status >= 500 || status === 429)) {
    return true;
  }
  return [
    'ECONNRESET',
    'ECONNREFUSED',
    'EPIPE',
    'ETIMEDOUT',
    'EAI_AGAIN',
    'UND_ERR_SOCKET',
    'ERR_STREAM_PREMATURE_CLOSE',
  ].includes(e.code ?? '');
}

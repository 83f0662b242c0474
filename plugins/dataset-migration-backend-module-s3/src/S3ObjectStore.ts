import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  _Object,
} from '@aws-sdk/client-s3';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InputError } from '@backstage/errors';
import {
  Checksums,
  DatasetLocation,
  validateKey,
} from '@internal/backstage-plugin-dataset-migration-common';
import {
  base64ToHex,
  ByteRange,
  CopyHints,
  HashingStream,
  ListOptions,
  ObjectInfo,
  ObjectStore,
  PartedWrites,
  RetryableUnavailableError,
  StoreCapabilities,
  WriteHints,
  WriteResult,
} from '@internal/backstage-plugin-dataset-migration-node';
import { configuredChecksum } from './checksums';
import { isNotFound, toS3Error, toS3ProbeError } from './errors';
import type { S3StorageBackend } from './S3StorageBackend';
import { copyWithinS3 } from './copy';
import { BodySizeMismatchError, MAX_PARTS, uploadStream } from './upload';
import { s3PartedWrites } from './partedWrites';

/** Passes through only bytes `start..end` (inclusive) of a stream. */
export function sliceStream(start: number, end: number): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const from = Math.max(0, start - offset);
      const to = Math.min(chunk.length, end + 1 - offset);
      offset += chunk.length;
      callback(null, from < to ? chunk.subarray(from, to) : undefined);
    },
  });
}

/** The MD5 hidden in an ETag, when the ETag is one (single-part, unencrypted). */
export function md5FromEtag(
  etag: string | undefined,
  etagIsMd5: boolean,
): string | undefined {
  const value = etag?.replace(/"/g, '').toLowerCase();
  // Multipart ETags end in `-<parts>`; those are not an MD5 of the object.
  return etagIsMd5 && value && /^[0-9a-f]{32}$/.test(value) ? value : undefined;
}

/** Full-object additional checksums; composite ones (`…-N`) are skipped. */
export function additionalChecksums(output: {
  ChecksumCRC32C?: string;
  ChecksumSHA256?: string;
  ChecksumType?: string;
}): Checksums {
  const result: Checksums = {};
  if (output.ChecksumType === 'COMPOSITE') {
    return result;
  }
  if (output.ChecksumCRC32C && !output.ChecksumCRC32C.includes('-')) {
    result.crc32c = base64ToHex(output.ChecksumCRC32C);
  }
  if (output.ChecksumSHA256 && !output.ChecksumSHA256.includes('-')) {
    result.sha256 = base64ToHex(output.ChecksumSHA256);
  }
  return result;
}

/** One `s3://bucket/prefix` location. */
export class S3ObjectStore implements ObjectStore {
  readonly backendId = 's3';
  readonly capabilities: StoreCapabilities;
  /** Parted writes on S3 multipart uploads (see partedWrites.ts). */
  readonly parts: PartedWrites;
  readonly #prefix: string;

  constructor(
    readonly backend: S3StorageBackend,
    readonly location: DatasetLocation,
  ) {
    this.#prefix = location.path ? `${location.path}/` : '';
    const { checksumAlgorithm, etagIsMd5 } = backend.options;
    this.capabilities = {
      // What list/stat can report without reading. Per object, MD5 is known
      // only for single-part uploads and the additional checksum only when
      // the writer asked S3 for one; the engine re-reads when both are absent.
      checksums: [
        ...(etagIsMd5 ? (['md5'] as const) : []),
        ...(checksumAlgorithm === 'CRC32C' ? (['crc32c'] as const) : []),
        ...(checksumAlgorithm === 'SHA256' ? (['sha256'] as const) : []),
      ],
      serverSideCopy: true,
      multipart: true,
      // write() hashes md5 for its single-part ETag check.
      writeChecksums: ['md5'],
      // ListObjectsV2: UTF-8 byte order, StartAfter.
      listsInKeyOrder: true,
    };
    this.parts = s3PartedWrites(this);
  }

  get bucket() {
    return this.location.bucket;
  }

  objectKey(key: string): string {
    try {
      return this.#prefix + validateKey(key);
    } catch (e) {
      throw new InputError(`Invalid object key: ${(e as Error).message}`);
    }
  }

  describe(key: string) {
    return `s3://${this.bucket}/${this.#prefix}${key}`;
  }

  async *list(options?: ListOptions): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    const { etagIsMd5, listPageSize } = this.backend.options;
    do {
      await this.backend
        .limiter(this.location, 'read')
        .acquire(options?.signal);
      let page;
      try {
        // Flat listing: delimiter listings miss prefixes on some S3-compatible
        // stores, and a flat one is what a copy needs anyway.
        page = await this.backend.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.#prefix || undefined,
            ContinuationToken: token,
            // S3 ignores StartAfter once a continuation token is given.
            StartAfter:
              options?.startAfter === undefined
                ? undefined
                : this.#prefix + options.startAfter,
            MaxKeys: Math.min(
              listPageSize,
              options?.pageSizeHint ?? listPageSize,
            ),
          }),
          { abortSignal: options?.signal },
        );
      } catch (e) {
        throw toS3Error(e, `Listing s3://${this.bucket}/${this.#prefix}`);
      }
      for (const object of page.Contents ?? []) {
        const info = this.#toInfo(object, etagIsMd5);
        if (info) {
          yield info;
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * Lists one key under the prefix: needs only s3:ListBucket (what a listing
   * needs anyway) and tells a missing bucket, denied access and a dead
   * endpoint apart. The signal bounds the SDK's retries too.
   */
  async probe(options?: { signal?: AbortSignal }): Promise<void> {
    try {
      await this.backend.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.#prefix || undefined,
          MaxKeys: 1,
        }),
        { abortSignal: options?.signal },
      );
    } catch (e) {
      throw toS3ProbeError(e, this.location.uri, this.bucket);
    }
  }

  #toInfo(object: _Object, etagIsMd5: boolean): ObjectInfo | undefined {
    const fullKey = object.Key ?? '';
    const key = fullKey.slice(this.#prefix.length);
    // Zero-byte `folder/` markers made by consoles are not data.
    if (!key || key.endsWith('/')) {
      return undefined;
    }
    const md5 = md5FromEtag(object.ETag, etagIsMd5);
    return {
      key,
      size: object.Size ?? 0,
      etag: object.ETag?.replace(/"/g, ''),
      checksums: md5 ? { md5 } : undefined,
      lastModified: object.LastModified,
    };
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const Key = this.objectKey(key);
    await this.backend.limiter(this.location, 'read').acquire();
    try {
      const head =
        (await this.backend.fast?.head(this.bucket, Key)) ??
        (await this.backend.client.send(
          new HeadObjectCommand({
            Bucket: this.bucket,
            Key,
            ChecksumMode: 'ENABLED',
          }),
        ));
      const md5 = md5FromEtag(head.ETag, this.backend.options.etagIsMd5);
      return {
        key,
        size: head.ContentLength ?? 0,
        etag: head.ETag?.replace(/"/g, ''),
        checksums: { ...additionalChecksums(head), ...(md5 ? { md5 } : {}) },
        lastModified: head.LastModified,
      };
    } catch (e) {
      if (isNotFound(e)) {
        return undefined;
      }
      throw toS3Error(e, `Reading metadata of ${this.describe(key)}`);
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const Key = this.objectKey(key);
    await this.backend.limiter(this.location, 'read').acquire();
    const Range = range ? `bytes=${range.start}-${range.end}` : undefined;
    let length: number | undefined;
    let contentRange: string | undefined;
    let body: Readable;
    try {
      const fast = await this.backend.fast?.get(this.bucket, Key, {
        range: Range,
        describe: `Reading ${this.describe(key)}`,
      });
      if (fast) {
        body = fast.body;
        length = Number(fast.headers['content-length'] ?? NaN);
        contentRange = fast.headers['content-range'];
      } else {
        const response = await this.backend.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key, Range }),
        );
        body = (response.Body as Readable | undefined) ?? Readable.from([]);
        length = response.ContentLength;
        contentRange = response.ContentRange;
      }
    } catch (e) {
      throw toS3Error(e, `Reading ${this.describe(key)}`);
    }
    // Some S3-compatible stores (s3rver for `bytes=0-0`) ignore a Range
    // and send the whole object: cut the range out ourselves then.
    const wanted = range ? range.end - range.start + 1 : undefined;
    if (range && length !== wanted) {
      const sent = /^bytes (\d+)-/.exec(contentRange ?? '');
      const offset = sent ? Number(sent[1]) : 0;
      const slice = sliceStream(range.start - offset, range.end - offset);
      body.on('error', e => slice.destroy(e));
      return body.pipe(slice);
    }
    return body;
  }

  async write(
    key: string,
    body: Readable,
    hints?: WriteHints,
  ): Promise<WriteResult> {
    const Key = this.objectKey(key);
    const { options } = this.backend;
    await this.backend.limiter(this.location, 'write').acquire(hints?.signal);
    // S3 allows 10,000 parts: grow the part size for huge objects.
    const partSize = Math.max(
      options.partSizeBytes,
      hints?.size ? Math.ceil(hints.size / MAX_PARTS) : 0,
    );
    // MD5 lets us check a single-part ETag; the SDK itself checksums every
    // request body (CRC32C/CRC32) and S3 verifies it on receipt. A body
    // announced larger than a part goes up in parts: its ETag is no MD5 and
    // the object keeps none, so the MD5 (~1.7 CPU-s per GiB here) is hashed
    // only for a caller that compares it with the source's listed one.
    const inParts = hints?.size !== undefined && hints.size > partSize;
    const hashing = new HashingStream(
      inParts && !hints?.expected?.md5 ? [] : ['md5'],
    );
    const piping = pipeline(body, hashing).then(
      () => undefined,
      (e: unknown) => e,
    );
    const algorithm = configuredChecksum(options);
    let result;
    try {
      // Part buffers come from the backend's shared budget
      // (uploadBufferMiB), whatever the number of concurrent writes.
      result = await uploadStream(hashing, {
        client: this.backend.client,
        fast: this.backend.fast,
        budget: this.backend.uploadBudget,
        Bucket: this.bucket,
        Key,
        partSize,
        queueSize: options.uploadConcurrency,
        size: hints?.size,
        contentType: hints?.contentType,
        checksumAlgorithm: algorithm,
        signal: hints?.signal,
      });
    } catch (e) {
      // A failing source reaches the upload through `hashing`, so `e` is
      // the first cause either way; destroying `hashing` only stops piping.
      hashing.destroy();
      await piping;
      if (e instanceof BodySizeMismatchError) {
        throw new InputError(`Writing ${this.describe(key)}: ${e.message}`);
      }
      throw toS3Error(e, `Writing ${this.describe(key)}`);
    }
    const sourceError = await piping;
    if (sourceError) {
      throw toS3Error(
        sourceError,
        `Reading the data for ${this.describe(key)}`,
      );
    }
    const checksums: Checksums = {
      ...hashing.digests(),
      ...additionalChecksums(result),
    };
    if (hints?.size !== undefined && hashing.byteCount !== hints.size) {
      throw new InputError(
        `Writing ${this.describe(key)}: expected ${
          hints.size
        } bytes but the source delivered ${hashing.byteCount}`,
      );
    }
    const etagMd5 = md5FromEtag(result.ETag, options.etagIsMd5);
    if (etagMd5 && result.parts === 0 && etagMd5 !== checksums.md5) {
      throw new RetryableUnavailableError(
        `Writing ${this.describe(
          key,
        )}: S3 stored MD5 ${etagMd5} but the bytes sent hash to ${
          checksums.md5
        }`,
      );
    }
    return { size: hashing.byteCount, checksums };
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    await this.backend.limiter(this.location, 'write').acquire();
    try {
      await this.backend.client.send(
        new DeleteObjectCommand({ Bucket: this.bucket, Key }),
      );
    } catch (e) {
      if (!isNotFound(e)) {
        throw toS3Error(e, `Deleting ${this.describe(key)}`);
      }
    }
  }

  copyWithin(
    source: ObjectStore,
    sourceKey: string,
    targetKey: string,
    hints?: CopyHints,
  ): Promise<WriteResult | undefined> {
    return copyWithinS3(this, source, sourceKey, targetKey, hints);
  }
}

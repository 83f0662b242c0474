import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { multipartChecksumType } from './checksums';
import type { PartBudget, PartBuffer } from './PartBudget';
import type { FastRequests } from './fastRequests';
import { crc32cBase64, sendUploadPart, UploadFailure } from './uploadPart';

export { crc32cBase64 };

/** What {@link uploadStream} writes, and how. */
export interface StreamUpload {
  client: S3Client;
  /** Sends a single PutObject without the SDK middleware, when given. */
  fast?: FastRequests;
  /** Every part buffer (and a single PutObject's body) is granted from it. */
  budget: PartBudget;
  Bucket: string;
  Key: string;
  partSize: number;
  /** Parts in flight at once for this object. */
  queueSize: number;
  /** The announced size: a body that differs fails before anything is stored. */
  size?: number;
  contentType?: string;
  checksumAlgorithm?: 'CRC32C' | 'SHA256';
  signal?: AbortSignal;
}

/** The stored object as the final request describes it. */
export interface StreamUploadResult {
  ETag?: string;
  ChecksumCRC32C?: string;
  ChecksumSHA256?: string;
  ChecksumType?: string;
  /** Bytes read from the body and stored. */
  size: number;
  /** UploadPart requests; 0 for a single PutObject. */
  parts: number;
}

/** The body delivered another number of bytes than announced. */
export class BodySizeMismatchError extends Error {
  name = 'BodySizeMismatchError';
  constructor(
    readonly expected: number,
    /** What the body delivered; `undefined` when more than `expected`. */
    readonly delivered: number | undefined,
  ) {
    super(
      `expected ${expected} bytes but the source delivered ${
        delivered ?? `more`
      }`,
    );
  }
}

/** S3's limit of parts per multipart upload. */
export const MAX_PARTS = 10_000;

/** Pulls exact-size pieces out of a stream, one chunk of look-ahead at most. */
export class BodyReader {
  readonly #iterator: AsyncIterator<Buffer | string>;
  readonly #signal: AbortSignal;
  #carry?: Buffer;
  #ended = false;

  constructor(body: Readable, signal: AbortSignal) {
    this.#iterator = body[Symbol.asyncIterator]();
    this.#signal = signal;
  }

  /**
   * The body's next chunk, or the signal's reason if it aborts first. (Not
   * a race with one long-lived promise: that would keep every chunk.)
   */
  #nextOrAbort(): Promise<IteratorResult<Buffer | string>> {
    const signal = this.#signal;
    if (signal.aborted) {
      return Promise.reject(signal.reason);
    }
    const next = this.#iterator.next();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      next.then(
        result => {
          signal.removeEventListener('abort', onAbort);
          resolve(result);
        },
        error => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  async #next(): Promise<Buffer | undefined> {
    if (this.#carry) {
      const chunk = this.#carry;
      this.#carry = undefined;
      return chunk;
    }
    while (!this.#ended) {
      const { value, done } = await this.#nextOrAbort();
      if (done) {
        this.#ended = true;
      } else if (value.length > 0) {
        return typeof value === 'string' ? Buffer.from(value) : value;
      }
    }
    return undefined;
  }

  /** Fills `buffer` from the body; fewer bytes only at its end. */
  async fill(buffer: Buffer): Promise<number> {
    let filled = 0;
    while (filled < buffer.length) {
      const chunk = await this.#next();
      if (!chunk) {
        break;
      }
      const take = Math.min(chunk.length, buffer.length - filled);
      chunk.copy(buffer, filled, 0, take);
      if (take < chunk.length) {
        this.#carry = chunk.subarray(take);
      }
      filled += take;
    }
    return filled;
  }

  /** Whether the body has ended (reads one chunk ahead to know). */
  async atEnd(): Promise<boolean> {
    const chunk = this.#carry ?? (await this.#next());
    this.#carry = chunk;
    return !chunk;
  }
}

/**
 * Streams `body` into S3: one PutObject when it fits in a part, else a
 * multipart upload with up to `queueSize` parts in flight. Each part's
 * buffer is granted by the shared budget before it is filled and returned
 * once the part is sent; the body is read only as fast as grants come, so
 * memory stays within the budget across all concurrent uploads and a whole
 * object is never held.
 *
 * On any failure (the body's, a request's, the signal's) the requests in
 * flight are aborted, the multipart upload is aborted once they have
 * settled, and the first cause is thrown.
 */
export async function uploadStream(
  body: Readable,
  upload: StreamUpload,
): Promise<StreamUploadResult> {
  const { client, budget, Bucket, Key, partSize, queueSize, size } = upload;
  const failure = new UploadFailure(upload.signal);
  const { signal, fail } = failure;
  const reader = new BodyReader(body, signal);

  let uploadId: string | undefined;
  let createAlgorithm: ChecksumAlgorithm | undefined;
  const completed: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  let consumed = 0;
  let partNumber = 0;

  const sendPart = async (
    number: number,
    data: Buffer,
    granted: PartBuffer,
  ) => {
    completed.push(
      await sendUploadPart(
        client,
        { Bucket, Key, UploadId: uploadId!, PartNumber: number },
        { data, granted, partSize, algorithm: createAlgorithm },
        signal,
      ),
    );
  };

  try {
    for (;;) {
      while (inFlight.size >= queueSize && !failure.failed) {
        await Promise.race(inFlight);
      }
      if (failure.failed) {
        throw failure.cause;
      }
      // A known size needs only what is left of it (small objects, the
      // last part); an unknown one may need a whole part.
      const want =
        size !== undefined
          ? Math.min(partSize, Math.max(0, size - consumed))
          : partSize;
      const granted = await budget.acquireBuffer(want, signal);
      let data: Buffer;
      let last: boolean;
      try {
        const buffer = granted.buffer;
        const filled = await reader.fill(buffer);
        consumed += filled;
        data = filled < want ? buffer.subarray(0, filled) : buffer;
        if (size !== undefined) {
          if (filled < want) {
            throw new BodySizeMismatchError(size, consumed);
          }
          last = consumed === size;
          if (last && !(await reader.atEnd())) {
            throw new BodySizeMismatchError(size, undefined);
          }
        } else {
          last = filled < want || (await reader.atEnd());
        }
        partNumber++;
        if (partNumber > MAX_PARTS) {
          throw new Error(
            `The body needs more than ${MAX_PARTS} parts of ${partSize} bytes; announce its size to grow the parts`,
          );
        }
        if (partNumber === 1 && last) {
          const put =
            (await upload.fast?.put(Bucket, Key, data, {
              contentType: upload.contentType,
              checksumAlgorithm: upload.checksumAlgorithm,
              signal,
            })) ??
            (await client.send(
              new PutObjectCommand({
                Bucket,
                Key,
                Body: data,
                ContentLength: data.length,
                ContentType: upload.contentType,
                ChecksumAlgorithm: upload.checksumAlgorithm,
                ...(upload.checksumAlgorithm === 'CRC32C' && {
                  ChecksumCRC32C: crc32cBase64(data),
                }),
              }),
              { abortSignal: signal },
            ));
          granted.release(want === partSize);
          return { ...put, size: consumed, parts: 0 };
        }
        if (!uploadId) {
          uploadId = await createMultipart();
        }
      } catch (e) {
        granted.release();
        throw e;
      }
      const sending = sendPart(partNumber, data, granted).catch(fail);
      inFlight.add(sending);
      sending.finally(() => inFlight.delete(sending));
      if (last) {
        break;
      }
    }
    await Promise.all(inFlight);
    if (failure.failed) {
      throw failure.cause;
    }
    completed.sort((a, b) => a.PartNumber! - b.PartNumber!);
    const done = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId: uploadId,
        MultipartUpload: { Parts: completed },
        ...multipartChecksumType(upload.checksumAlgorithm),
      }),
      { abortSignal: signal },
    );
    return { ...done, size: consumed, parts: partNumber };
  } catch (e) {
    fail(e);
    // Parts still in flight could land after an abort and keep storage.
    await Promise.all(inFlight);
    if (uploadId) {
      await client
        .send(
          new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId }),
        )
        .catch(() => undefined);
    }
    throw failure.cause;
  } finally {
    failure.dispose();
  }

  async function createMultipart(): Promise<string> {
    // Like lib-storage: declare the algorithm the SDK will checksum parts
    // with, or S3 rejects parts carrying a checksum the upload lacks.
    createAlgorithm =
      upload.checksumAlgorithm ??
      ((await client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED'
        ? 'CRC32'
        : undefined);
    const created = await client.send(
      new CreateMultipartUploadCommand({
        Bucket,
        Key,
        ContentType: upload.contentType,
        ChecksumAlgorithm: createAlgorithm,
        // S3 combines part CRCs into a CRC of the whole object, comparable
        // with GCS and local files; SHA-256 can only be composite.
        ...multipartChecksumType(upload.checksumAlgorithm),
      }),
      { abortSignal: signal },
    );
    if (!created.UploadId) {
      throw new Error('CreateMultipartUpload returned no UploadId');
    }
    return created.UploadId;
  }
}

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FileMetadata, Storage } from '@google-cloud/storage';
import { InputError } from '@backstage/errors';
import {
  crc32c,
  crc32cToBase64,
  hexToBase64,
  RetryableUnavailableError,
} from '@internal/backstage-plugin-dataset-migration-node';
import mime from 'mime';
import { isConnectionError, toGcsError } from './errors';
import {
  ListedChecksums,
  refused,
  RETRYABLE_STATUS,
  retryDelay,
} from './chunkAnswers';
import { Answer, statusError, uploadRequest } from './sessionRequest';
import { apiEndpoint, authHeaders } from './storageAuth';

export interface SmallUploadOptions {
  bucket: string;
  /** The object's full name. */
  name: string;
  /** Its whole body (below `resumableThresholdMiB`). */
  body: Buffer;
  /** Else guessed from the name's extension, as the client library does. */
  contentType?: string;
  /** Checksums (hex) the source's bytes were listed with. */
  expected?: ListedChecksums;
  /** Retries after a 408 / 429 / 5xx or a dropped connection. */
  maxRetries: number;
  /** `gs://bucket/key`, for messages. */
  describe: string;
  signal?: AbortSignal;
}

/**
 * Multipart boundaries: a random per-process tag and a count, unique per
 * upload and unknowable to a source, without random bytes per upload.
 */
const BOUNDARY_TAG = randomBytes(12).toString('hex');
let boundaries = 0;

/**
 * Stores a small object with one multipart upload (`uploadType=multipart`:
 * its metadata and bytes in one POST), written here rather than through
 * the client library, whose request stack (teeny-request, node-fetch, its
 * stream pipelines) cost several times the request itself per small object.
 * What the library did is kept: the endpoint and the authorisation are its
 * own, a content type is guessed from the name when none is given, the
 * request is retried after a 408 / 429 / 5xx or a dropped connection
 * (the body is in memory), and GCS checks the bytes against the CRC32C
 * computed here (and the md5 the source was listed with) before it stores
 * them. A source listed with another CRC32C than its bytes have is refused
 * before anything is sent. Returns the object's metadata.
 */
export async function sendSmallUpload(
  storage: Storage,
  options: SmallUploadOptions,
): Promise<FileMetadata> {
  const { body, describe, expected, maxRetries, signal } = options;
  const what = `Writing ${describe}`;
  const crc = crc32c(body);
  if (
    expected?.crc32c &&
    expected.crc32c !== crc.toString(16).padStart(8, '0')
  ) {
    throw new RetryableUnavailableError(
      `${what}: its bytes do not have the CRC32C the source was listed with (it changed since, or the bytes were damaged on the way)`,
    );
  }
  // No line breaks in the media part's header, whatever a source claimed.
  const contentType = (
    options.contentType ??
    mime.getType(options.name) ??
    undefined
  )?.replace(/[\r\n]/g, '');
  const metadata = {
    name: options.name,
    ...(contentType && { contentType }),
    crc32c: crc32cToBase64(crc),
    ...(expected?.md5 && { md5Hash: hexToBase64(expected.md5) }),
  };
  const boundary = `${BOUNDARY_TAG}${(boundaries++).toString(36)}`;
  const parts = [
    Buffer.from(
      `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(
        metadata,
      )}\r\n--${boundary}\r\nContent-Type: ${
        contentType ?? 'application/octet-stream'
      }\r\n\r\n`,
    ),
    body,
    Buffer.from(`\r\n--${boundary}--`),
  ];
  const url = new URL(
    `${apiEndpoint(storage)}/upload/storage/v1/b/${encodeURIComponent(
      options.bucket,
    )}/o?uploadType=multipart&name=${encodeURIComponent(options.name)}`,
  );
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InputError(`Unsupported GCS endpoint scheme ${url.protocol}`);
  }
  for (let attempt = 0; ; attempt++) {
    let answer: Answer | undefined;
    let failure: unknown;
    try {
      answer = await uploadRequest(
        { uri: url.href, signal, method: 'POST' },
        {
          ...(await authHeaders(storage)),
          'Content-Type': `multipart/related; boundary=${boundary}`,
          'Content-Length': String(
            parts.reduce((n, part) => n + part.length, 0),
          ),
        },
        async write => {
          for (const part of parts) await write(part);
        },
      );
    } catch (e) {
      if (!isConnectionError(e) || signal?.aborted) {
        throw toGcsError(e, what);
      }
      failure = e;
    }
    if (answer?.status === 200) {
      const stored = JSON.parse(answer.body) as FileMetadata;
      if (Number(stored.size) !== body.length) {
        throw new RetryableUnavailableError(
          `${what}: GCS stored ${stored.size} bytes, but ${body.length} were sent`,
        );
      }
      return stored;
    }
    const error = answer ? statusError(answer) : failure;
    if (answer && !RETRYABLE_STATUS.has(answer.status)) {
      // A 404 is the bucket's (there is no session to lose here).
      throw answer.status === 404
        ? toGcsError(error, what)
        : refused(options, answer.status, error as Error);
    }
    if (attempt >= maxRetries) throw toGcsError(error, what);
    await sleep(retryDelay(attempt + 1), undefined, { signal });
  }
}

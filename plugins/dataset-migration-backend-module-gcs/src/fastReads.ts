import http from 'node:http';
import https from 'node:https';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FileMetadata, Storage } from '@google-cloud/storage';
import { InputError } from '@backstage/errors';
import {
  ByteRange,
  crc32c,
  crc32cToBase64,
  RetryableUnavailableError,
} from '@internal/backstage-plugin-dataset-migration-node';
import { RETRYABLE_STATUS, retryDelay } from './chunkAnswers';
import { isConnectionError, toGcsError } from './errors';
import { agentFor, Answer, statusError } from './sessionRequest';
import { apiEndpoint, authHeaders } from './storageAuth';

/**
 * Listing pages and reads of one object (its bytes, its metadata) sent with
 * Node's HTTP client rather than the client library, whose request stack costs several
 * times the request itself per small object (as for uploads, see
 * `smallUpload.ts`). What the library did is kept: its endpoint and
 * authorisation, `Accept-Encoding: gzip` with `Cache-Control: no-store`, a
 * whole object's bytes checked against the CRC32C GCS lists for them, and
 * retries after a 408 / 429 / 5xx or a dropped connection before the body
 * begins (a body that fails later fails the read, with a retryable error).
 */
export interface ObjectRequest {
  bucket: string;
  /** The object's full name. */
  name: string;
  maxRetries: number;
  /** `gs://bucket/key`, for messages. */
  describe: string;
  signal?: AbortSignal;
}

/** Error bodies are JSON of a few hundred bytes; more is not read. */
const ERROR_BODY_BYTES = 64 * 1024;

/** A JSON API URL of `bucket`'s objects (`/o`, then `path`). */
function objectsUrl(storage: Storage, bucket: string, path: string) {
  const url = new URL(
    `${apiEndpoint(storage)}/storage/v1/b/${encodeURIComponent(
      bucket,
    )}/o${path}`,
  );
  if (!agentFor(url)) {
    throw new InputError(`Unsupported GCS endpoint scheme ${url.protocol}`);
  }
  return url;
}

function objectUrl(storage: Storage, request: ObjectRequest, query: string) {
  return objectsUrl(
    storage,
    request.bucket,
    `/${encodeURIComponent(request.name)}${query}`,
  );
}

/** One GET; resolves with the response, its body unread. */
function send(
  url: URL,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      agent: agentFor(url),
      headers,
      signal,
    });
    // After the response, errors reach its body (`error` on the response).
    request.on('error', reject);
    request.on('response', resolve);
    request.end();
  });
}

/**
 * A response's status and its body (of an error, only its first
 * `limit` bytes are kept; a body that fails part-way is what was read).
 */
async function answerOf(
  response: http.IncomingMessage,
  limit = ERROR_BODY_BYTES,
): Promise<Answer & { complete: boolean }> {
  const parts: Buffer[] = [];
  let bytes = 0;
  let complete = true;
  try {
    for await (const chunk of response) {
      if (bytes < limit) parts.push(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } catch {
    complete = false;
  }
  return {
    status: response.statusCode ?? 0,
    body: Buffer.concat(parts).toString('utf8'),
    complete,
  };
}

/**
 * GETs `url` with the client's authorisation, retrying after a 408 / 429 /
 * 5xx or a dropped connection; resolves with the first other response.
 */
async function get(
  storage: Storage,
  url: URL,
  headers: Record<string, string>,
  request: { maxRetries: number; signal?: AbortSignal },
  what: string,
): Promise<http.IncomingMessage> {
  const { maxRetries, signal } = request;
  for (let attempt = 0; ; attempt++) {
    let error: unknown;
    try {
      const response = await send(
        url,
        { ...(await authHeaders(storage)), ...headers },
        signal,
      );
      if (!RETRYABLE_STATUS.has(response.statusCode ?? 0)) return response;
      error = statusError(await answerOf(response));
    } catch (e) {
      if (!isConnectionError(e) || signal?.aborted) throw toGcsError(e, what);
      error = e;
    }
    if (attempt >= maxRetries) throw toGcsError(error, what);
    await sleep(retryDelay(attempt + 1), undefined, { signal });
  }
}

/** The metadata of an object, or undefined when there is none. */
export async function readMetadata(
  storage: Storage,
  request: ObjectRequest,
): Promise<FileMetadata | undefined> {
  const what = `Reading metadata of ${request.describe}`;
  const response = await get(
    storage,
    objectUrl(storage, request, ''),
    {},
    request,
    what,
  );
  if (response.statusCode === 404) {
    response.resume();
    return undefined;
  }
  return jsonOf<FileMetadata>(response, what);
}

/** A 200 answer's JSON body; another status, or a cut or unparsable body, fails. */
async function jsonOf<T>(response: http.IncomingMessage, what: string) {
  const answer = await answerOf(response, Infinity);
  if (answer.status !== 200) throw toGcsError(statusError(answer), what);
  try {
    if (!answer.complete) throw new Error('cut short');
    return JSON.parse(answer.body) as T;
  } catch {
    throw new RetryableUnavailableError(
      `${what} failed: GCS's answer was not whole JSON`,
    );
  }
}

/** The fields of a listed object that `ObjectInfo` needs, and the next page's. */
const LIST_FIELDS =
  'items(name,size,generation,etag,md5Hash,crc32c,updated),nextPageToken';

/** One page of `objects.list` to ask for (here or through the library). */
export interface ListPageRequest {
  bucket: string;
  prefix?: string;
  /** Inclusive. */
  startOffset?: string;
  pageToken?: string;
  maxResults: number;
  maxRetries: number;
  /** `gs://bucket/prefix`, for messages. */
  describe: string;
  signal?: AbortSignal;
}

/** A listed page: its objects' metadata and the next page's token. */
export interface ListedPage {
  items: FileMetadata[];
  nextPageToken?: string;
}

/**
 * One page of `objects.list` (`prefix`, from `startOffset` inclusive, after
 * `pageToken`), asking only for the fields a listing uses: the client
 * library builds a `File` for every object of every page, and GCS sends
 * each object's whole resource.
 */
export async function listPage(
  storage: Storage,
  request: ListPageRequest,
): Promise<ListedPage> {
  const query = new URLSearchParams({
    maxResults: String(request.maxResults),
    fields: LIST_FIELDS,
  });
  if (request.prefix) query.set('prefix', request.prefix);
  if (request.startOffset !== undefined) {
    query.set('startOffset', request.startOffset);
  }
  if (request.pageToken) query.set('pageToken', request.pageToken);
  const what = `Listing ${request.describe}`;
  const response = await get(
    storage,
    objectsUrl(storage, request.bucket, `?${query}`),
    {},
    request,
    what,
  );
  const page = await jsonOf<Partial<ListedPage>>(response, what);
  return { items: page.items ?? [], nextPageToken: page.nextPageToken };
}

/** The base64 CRC32C of an `x-goog-hash: crc32c=…,md5=…` header. */
function listedCrc32c(header: string | string[] | undefined) {
  const values = Array.isArray(header) ? header : [header ?? ''];
  for (const value of values.flatMap(v => v.split(','))) {
    const at = value.indexOf('=');
    if (value.slice(0, at).trim() === 'crc32c') return value.slice(at + 1);
  }
  return undefined;
}

/**
 * A response's body as the read returns it: its errors named for the
 * object and retryable, its length checked, and (for a whole object) its
 * CRC32C compared with the one GCS listed. Destroying it ends the request.
 */
class MediaBody extends Transform {
  #bytes = 0;
  #crc = 0;

  constructor(
    private readonly response: http.IncomingMessage,
    private readonly what: string,
    /** Its Content-Length, when it has one. */
    private readonly length: number | undefined,
    private readonly expectedCrc32c: string | undefined,
  ) {
    // The default buffering: 1 MiB ahead of the consumer cost gcs-local (b)
    // ~5 CPU-s more per 2 GiB (buffers kept alive longer; bench/README).
    super();
    response.on('error', e => this.destroy(toGcsError(e, what)));
    response.pipe(this);
  }

  _transform(chunk: Buffer, _encoding: string, done: TransformCallback) {
    this.#bytes += chunk.length;
    if (this.expectedCrc32c !== undefined) {
      this.#crc = crc32c(chunk, this.#crc);
    }
    done(null, chunk);
  }

  _flush(done: TransformCallback) {
    if (this.length !== undefined && this.#bytes !== this.length) {
      done(
        new RetryableUnavailableError(
          `${this.what} failed: the answer ended after ${this.#bytes} of its ${
            this.length
          } bytes`,
        ),
      );
    } else if (
      this.expectedCrc32c !== undefined &&
      crc32cToBase64(this.#crc) !== this.expectedCrc32c
    ) {
      done(
        new RetryableUnavailableError(
          `${this.what} failed: the bytes read do not have the CRC32C GCS lists for the object (damaged on the way)`,
        ),
      );
    } else {
      done();
    }
  }

  _destroy(error: Error | null, done: (error?: Error | null) => void) {
    this.response.destroy();
    done(error);
  }
}

/**
 * An object's bytes (`alt=media`), or of `range`: a stream, undefined when
 * there is no such object, or `'gzip'` (nothing read) when GCS sent them
 * gzip-encoded (an object stored with `Content-Encoding: gzip`), which
 * the client library decompresses: the caller reads it through the library.
 */
export async function readMedia(
  storage: Storage,
  request: ObjectRequest & { range?: ByteRange },
): Promise<Readable | undefined | 'gzip'> {
  const { range } = request;
  const what = `Reading ${request.describe}`;
  const response = await get(
    storage,
    objectUrl(storage, request, '?alt=media'),
    {
      'Accept-Encoding': 'gzip',
      'Cache-Control': 'no-store',
      ...(range && { Range: `bytes=${range.start}-${range.end}` }),
    },
    request,
    what,
  );
  const status = response.statusCode ?? 0;
  if (status === 404) {
    response.resume();
    return undefined;
  }
  if (range && status === 200) {
    response.destroy();
    throw toGcsError(
      new Error('GCS answered a ranged read with the whole object'),
      what,
    );
  }
  if (status !== (range ? 206 : 200)) {
    throw toGcsError(statusError(await answerOf(response)), what);
  }
  if (response.headers['content-encoding'] === 'gzip') {
    response.destroy();
    return 'gzip';
  }
  const length = response.headers['content-length'];
  return new MediaBody(
    response,
    what,
    length === undefined ? undefined : Number(length),
    range ? undefined : listedCrc32c(response.headers['x-goog-hash']),
  );
}

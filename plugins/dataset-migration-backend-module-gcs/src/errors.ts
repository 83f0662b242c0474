import {
  ForwardedError,
  InputError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import {
  connectionFailure as describeConnectionFailure,
  isRetryableError,
  RetryableUnavailableError,
} from '@internal/backstage-plugin-dataset-migration-node';

interface GcsErrorLike {
  code?: number | string;
  message?: string;
  name?: string;
}

export function gcsStatus(error: unknown): number | undefined {
  const code = (error as GcsErrorLike)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function isGcsNotFound(error: unknown) {
  return gcsStatus(error) === 404;
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * Whether an error, or one it wraps, is a dropped or refused connection.
 * The client's default check only looks at the outer error's `code`, which
 * fetch implementations leave empty, burying the socket error in `cause`.
 */
export function isConnectionError(error: unknown): boolean {
  let current = error as { code?: unknown; cause?: unknown; message?: unknown };
  for (let depth = 0; current && depth < 6; depth++) {
    if (typeof current.code === 'string' && NETWORK_CODES.has(current.code)) {
      return true;
    }
    if (
      typeof current.message === 'string' &&
      /socket hang up|other side closed|fetch failed|premature close/i.test(
        current.message,
      )
    ) {
      return true;
    }
    current = current.cause as typeof current;
  }
  return false;
}

/**
 * Why a request got no answer, naming no host, address, port or URL; the
 * client's own retryable transport errors count as a reset.
 */
export function connectionFailure(error: unknown): string | undefined {
  return (
    describeConnectionFailure(error) ??
    (isConnectionError(error) ? 'connection reset' : undefined)
  );
}

/**
 * A retryable 503 whose message is all a caller sees: the client error is
 * kept as a non-enumerable `original`, never as `cause` (which
 * `@backstage/errors` appends to the message and serializes into responses).
 */
export function unavailable(message: string, original: unknown): Error {
  const error = new RetryableUnavailableError(message);
  Object.defineProperty(error, 'original', { value: original });
  return error;
}

/**
 * Maps what a probe (a one-object listing) of `uri` met to the error the API
 * returns as is: no such bucket → 400, denied → 403, no answer or no
 * credentials → 503. Messages name the location, never the endpoint.
 */
export function toGcsProbeError(
  error: unknown,
  uri: string,
  bucket: string,
): Error {
  const status = gcsStatus(error);
  const message = String((error as GcsErrorLike)?.message ?? '');
  if (status === 404) {
    return new InputError(`${uri}: bucket '${bucket}' does not exist`);
  }
  if (status === 401 || status === 403) {
    return new NotAllowedError(
      `${uri}: permission denied listing bucket '${bucket}'; check datasetMigration.storage.gcs credentials and the bucket's IAM (storage.objects.list)`,
    );
  }
  if (
    /default credentials|Could not (load|refresh)|invalid_grant/i.test(message)
  ) {
    return unavailable(
      `${uri} cannot be reached: the GCS credentials do not work (datasetMigration.storage.gcs credentials, keyFilename or Application Default Credentials)`,
      error,
    );
  }
  const reason = connectionFailure(error);
  if (reason) {
    return unavailable(`${uri} is unreachable (${reason})`, error);
  }
  return toGcsError(error, `Checking ${uri}`);
}

/**
 * Turns a client error into a `@backstage/errors` class naming the object.
 * The client already retried transient failures; what reaches here is marked
 * `retryable` so the engine can retry the whole item later. Client messages
 * are API error texts, never credentials.
 */
export function toGcsError(error: unknown, what: string): Error {
  const status = gcsStatus(error);
  const e = (error ?? {}) as GcsErrorLike;
  if (status === 404) {
    return new NotFoundError(`${what}: not found`);
  }
  if (status === 401 || status === 403) {
    return new NotAllowedError(
      `${what}: permission denied; check datasetMigration.storage.gcs credentials and the bucket's IAM`,
    );
  }
  const retryable =
    // the download's bytes did not match GCS's checksum: re-read
    (error as { code?: unknown })?.code === 'CONTENT_DOWNLOAD_MISMATCH' ||
    isRetryableError(error) ||
    isConnectionError(error) ||
    (status !== undefined &&
      (status >= 500 || status === 429 || status === 408)) ||
    /ECONNRESET|socket hang up|ETIMEDOUT|EPIPE|premature close|other side closed/i.test(
      e.message ?? '',
    );
  // Fetch errors name the request URL (endpoint, bucket, query) and the
  // socket address: say only what happened.
  const reason = status === undefined ? connectionFailure(error) : undefined;
  if (reason) {
    return unavailable(
      `${what} failed: the GCS endpoint is unreachable (${reason})`,
      error,
    );
  }
  if (retryable) {
    return unavailable(`${what} failed: ${e.message ?? String(error)}`, error);
  }
  return new ForwardedError(what, error);
}

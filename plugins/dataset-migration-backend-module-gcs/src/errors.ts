import {
  ForwardedError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { isRetryableError } from '@internal/backstage-plugin-dataset-migration-node';

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
  if (retryable) {
    return Object.assign(
      new ServiceUnavailableError(
        `${what} failed: ${e.message ?? String(error)}`,
        error,
      ),
      { retryable: true },
    );
  }
  return new ForwardedError(what, error);
}

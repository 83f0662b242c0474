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
    isRetryableError(error) ||
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

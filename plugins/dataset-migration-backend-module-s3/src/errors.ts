import {
  ForwardedError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { isRetryableError } from '@internal/backstage-plugin-dataset-migration-node';

const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
]);

/** The parts of an SDK v3 error we look at. */
interface SdkErrorLike {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

export function isNotFound(error: unknown): boolean {
  const e = error as SdkErrorLike;
  return (
    e?.name === 'NoSuchKey' ||
    e?.name === 'NotFound' ||
    e?.$metadata?.httpStatusCode === 404
  );
}

/**
 * Turns an SDK error into a `@backstage/errors` class saying what failed
 * where. The SDK already retried transient failures; what reaches here is
 * marked `retryable` so the engine can retry the whole item later. Messages
 * carry bucket and key, never credentials or signed URLs.
 */
export function toS3Error(error: unknown, what: string): Error {
  const e = (error ?? {}) as SdkErrorLike;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  if (isNotFound(error) && name !== 'NoSuchBucket') {
    return new NotFoundError(`${what}: object not found`);
  }
  if (name === 'NoSuchBucket') {
    return new NotFoundError(`${what}: bucket does not exist`);
  }
  if (status === 403 || name === 'AccessDenied') {
    return new NotAllowedError(
      `${what}: access denied; check the credentials in datasetMigration.storage.s3 and the bucket policy`,
    );
  }
  // No HTTP status at all: the request never got an answer (refused,
  // reset, timed out), which is worth another try unless we aborted it.
  const transport =
    status === undefined &&
    name !== 'AbortError' &&
    !(error instanceof TypeError) &&
    e.$metadata !== undefined;
  const retryable =
    transport ||
    THROTTLING.has(name) ||
    isRetryableError(error) ||
    (typeof status === 'number' && (status >= 500 || status === 429));
  const message = `${what} failed: ${name}${e.message ? `: ${e.message}` : ''}`;
  if (retryable) {
    const wrapped = new ServiceUnavailableError(message, error);
    return Object.assign(wrapped, { retryable: true });
  }
  return new ForwardedError(what, error);
}

import {
  ForwardedError,
  InputError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import {
  connectionFailure,
  isRetryableError,
  RetryableUnavailableError,
} from '@internal/backstage-plugin-dataset-migration-node';

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

export { connectionFailure };

/**
 * A retryable 503 whose message is all a caller sees: the SDK error is kept
 * as a non-enumerable `original` for debugging, never as `cause` (which
 * `@backstage/errors` appends to the message and serializes into responses,
 * with the endpoint's address, port and errno).
 */
export function unavailable(message: string, original: unknown): Error {
  const error = new RetryableUnavailableError(message);
  Object.defineProperty(error, 'original', { value: original });
  return error;
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
  const reason = connectionFailure(error);
  if (reason || transport) {
    // $metadata: the SDK's own request failed, not e.g. the source stream.
    const detail =
      e.$metadata !== undefined
        ? `the S3 endpoint is unreachable (${reason ?? 'no answer'})`
        : reason;
    return unavailable(`${what} failed: ${detail}`, error);
  }
  if (retryable) {
    // An S3 error response (5xx, throttling): its code and text name no host.
    return unavailable(
      `${what} failed: ${name}${e.message ? `: ${e.message}` : ''}`,
      error,
    );
  }
  return new ForwardedError(what, error);
}

/**
 * Maps what a probe (a one-key listing) of `uri` met to the error the API
 * returns as is: no such bucket → 400, access denied → 403, no answer or no
 * credentials → 503. Messages name the location, never the endpoint.
 */
export function toS3ProbeError(
  error: unknown,
  uri: string,
  bucket: string,
): Error {
  const e = (error ?? {}) as SdkErrorLike;
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'NoSuchBucket' || (status === 404 && !e.name)) {
    return new InputError(`${uri}: bucket '${bucket}' does not exist`);
  }
  if (status === 301 || e.name === 'PermanentRedirect') {
    return new InputError(
      `${uri}: bucket '${bucket}' is in another region than datasetMigration.storage.s3.region`,
    );
  }
  if (status === 401 || status === 403 || e.name === 'AccessDenied') {
    return new NotAllowedError(
      `${uri}: access denied listing bucket '${bucket}'; check the credentials in datasetMigration.storage.s3 and the bucket policy (s3:ListBucket)`,
    );
  }
  if (e.name === 'CredentialsProviderError') {
    return unavailable(
      `${uri} cannot be reached: no AWS credentials were found (datasetMigration.storage.s3.credentials or the default provider chain)`,
      error,
    );
  }
  if (e.name === 'AbortError') {
    return unavailable(`${uri} is unreachable (no answer in time)`, error);
  }
  const reason =
    connectionFailure(error) ??
    (status === undefined && e.$metadata !== undefined ? 'no answer' : '');
  if (reason) {
    return unavailable(`${uri} is unreachable (${reason})`, error);
  }
  return toS3Error(error, `Checking ${uri}`);
}

/**
 * Error names and codes object stores use for "too many requests": S3's
 * `SlowDown` (a 503) and the AWS SDK's throttling codes, GCS's JSON API
 * reasons.
 */
const THROTTLING_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'TooManyRequests',
  'rateLimitExceeded',
  'userRateLimitExceeded',
]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  status?: unknown;
  statusCode?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  errors?: Array<{ reason?: unknown }>;
  original?: unknown;
  cause?: unknown;
}

function isThrottlingShape(e: ErrorLike): boolean {
  if (THROTTLING_NAMES.has(e.name as string)) return true;
  if (THROTTLING_NAMES.has(e.code as string)) return true;
  // An AWS SDK error: S3 answers 503 when a prefix needs to repartition.
  const sdkStatus = e.$metadata?.httpStatusCode;
  if (sdkStatus === 429 || sdkStatus === 503) return true;
  // GCS (and plain HTTP clients): 429; GCS's 503 means a backend error.
  if ([e.code, e.status, e.statusCode].includes(429)) return true;
  return (
    Array.isArray(e.errors) &&
    e.errors.some(x => THROTTLING_NAMES.has(x?.reason as string))
  );
}

/**
 * Whether an error says the store is refusing requests because they come
 * too fast (S3 `SlowDown` / 503, HTTP 429, GCS `rateLimitExceeded`), as
 * opposed to failing. Every throttling error is also retryable (see
 * `isRetryableError`); the difference matters to whoever decides how many
 * requests to send, since sending fewer helps with throttling and not with
 * failures. Backends keep the SDK error as a non-enumerable `original` of
 * their own error (or as its `cause`), so those are looked into too.
 *
 * @public
 */
export function isThrottlingError(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < 6; depth++) {
    if (!current || typeof current !== 'object') return false;
    const e = current as ErrorLike;
    if (isThrottlingShape(e)) return true;
    current = e.original ?? e.cause;
  }
  return false;
}

import { RetryableUnavailableError } from './retryableError';
import { StoreStallError } from './stallGuard';
import { isRetryableError } from './storage';
import { isThrottlingError } from './throttling';

/** How the S3 and GCS backends wrap an SDK error (errors.ts of each). */
function wrapped(original: unknown) {
  const error = new RetryableUnavailableError('Writing s3://b/k failed');
  Object.defineProperty(error, 'original', { value: original });
  return error;
}

describe('isThrottlingError', () => {
  const slowDown = Object.assign(new Error('Please reduce your request rate'), {
    name: 'SlowDown',
    $metadata: { httpStatusCode: 503 },
  });
  const s3Unnamed503 = Object.assign(new Error('Service Unavailable'), {
    name: 'ServiceUnavailable',
    $metadata: { httpStatusCode: 503 },
  });
  const gcs429 = Object.assign(new Error('The rate of change requests'), {
    code: 429,
    errors: [{ reason: 'rateLimitExceeded' }],
  });

  it.each([
    ['S3 SlowDown', slowDown],
    ['an S3 503', s3Unnamed503],
    ['an AWS SDK throttling code', { name: 'ThrottlingException' }],
    ['GCS 429', gcs429],
    [
      'a GCS rate-limit reason',
      { code: 403, errors: [{ reason: 'userRateLimitExceeded' }] },
    ],
    ['an HTTP 429', { statusCode: 429 }],
    ['SlowDown kept as original by a backend', wrapped(slowDown)],
    ['GCS 429 kept as original', wrapped(gcs429)],
    ['throttling as a cause', new Error('copy failed', { cause: gcs429 })],
  ])('recognises %s', (_, error) => {
    expect(isThrottlingError(error)).toBe(true);
  });

  it.each([
    [
      'an unreachable endpoint',
      wrapped(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })),
    ],
    ['a GCS 503 (backend error)', { code: 503 }],
    ['a plain 500', { statusCode: 500 }],
    ['a stall', new StoreStallError('no progress')],
    ['a 404', { $metadata: { httpStatusCode: 404 }, name: 'NoSuchKey' }],
    ['a string', 'SlowDown'],
    ['nothing', undefined],
  ])('does not count %s', (_, error) => {
    expect(isThrottlingError(error)).toBe(false);
  });

  it('recognises what the backends hand the engine, which retries it', () => {
    for (const error of [wrapped(slowDown), wrapped(gcs429)]) {
      expect(isRetryableError(error)).toBe(true);
      expect(isThrottlingError(error)).toBe(true);
    }
  });

  it('stops on a cycle of causes', () => {
    const a: { cause?: unknown } = {};
    a.cause = a;
    expect(isThrottlingError(a)).toBe(false);
  });
});

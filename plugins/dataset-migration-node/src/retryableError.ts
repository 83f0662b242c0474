/**
 * An error the engine should retry: the item goes back to `pending` with a
 * backoff delay until its attempts run out. Throw it (or a subclass) instead
 * of tagging a plain error with `retryable: true`, so the intent is in the
 * type. {@link isRetryableError} still accepts the tag, which SDK errors
 * carry.
 *
 * @public
 */
export class RetryableError extends Error {
  name = 'RetryableError';
  readonly retryable = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : options);
  }
}

/**
 * A retryable 503. Its `name` is `ServiceUnavailableError`, as for the
 * `@backstage/errors` class, because error handlers map names to statuses
 * and decide by name whether a message may be shown to the caller.
 *
 * @public
 */
export class RetryableUnavailableError extends RetryableError {
  name = 'ServiceUnavailableError';
}

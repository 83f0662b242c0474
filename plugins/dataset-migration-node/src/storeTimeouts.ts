/**
 * A store call that made no progress for too long. Retryable: the engine
 * retries the item (an `item-retry` event) and fails it after its attempts.
 * Raised by {@link guardObjectStore}.
 *
 * @public
 */
export class StoreStallError extends Error {
  name = 'StoreStallError';
  readonly retryable = true;
}

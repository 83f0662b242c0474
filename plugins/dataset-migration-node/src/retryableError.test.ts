import { RetryableError, RetryableUnavailableError } from './retryableError';
import { StoreSizeMismatchError, StoreStallError } from './stallGuard';
import { isRetryableError } from './storage';

describe('RetryableError', () => {
  it('is an Error marked retryable, keeping message and cause', () => {
    const cause = new Error('socket hang up');
    const error = new RetryableError('Writing s3://b/k failed', { cause });

    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('RetryableError');
    expect(error.message).toBe('Writing s3://b/k failed');
    expect(error.retryable).toBe(true);
    expect(error.cause).toBe(cause);
    expect(isRetryableError(error)).toBe(true);
  });

  it('has no cause unless one is given', () => {
    const error = new RetryableError('boom');

    expect('cause' in error).toBe(false);
    expect(error.message).toBe('boom');
  });

  it.each([
    [new RetryableUnavailableError('down'), 'ServiceUnavailableError'],
    [new StoreStallError('stalled'), 'StoreStallError'],
    [new StoreSizeMismatchError('short', 3, 2), 'StoreSizeMismatchError'],
  ])('subclass %p keeps its own name', (error, name) => {
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.name).toBe(name);
    expect(isRetryableError(error)).toBe(true);
  });
});

describe('isRetryableError, shapes besides RetryableError', () => {
  it.each([
    // SDK errors are tagged rather than typed.
    [Object.assign(new Error('throttled'), { retryable: true }), true],
    [Object.assign(new Error('slow down'), { $retryable: {} }), true],
    [Object.assign(new Error('nope'), { retryable: false }), false],
    [new Error('plain'), false],
    ['a string', false],
    [null, false],
  ])('%p → %p', (error, expected) => {
    expect(isRetryableError(error)).toBe(expected);
  });
});

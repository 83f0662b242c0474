import { isRetryableError } from './storage';

describe('isRetryableError', () => {
  it.each([
    [{ code: 'ECONNRESET' }, true],
    [{ statusCode: 503 }, true],
    [{ status: 429 }, true],
    [{ retryable: true }, true],
    [{ $retryable: { throttling: true } }, true],
    [{ statusCode: 404 }, false],
    [{ statusCode: 403 }, false],
    [new Error('boom'), false],
    [undefined, false],
  ])('%j → %p', (error, expected) => {
    expect(isRetryableError(error)).toBe(expected);
  });
});

import { addAbortSignal, Readable } from 'node:stream';
import { InputError } from '@backstage/errors';

/**
 * Reads up to `limit` bytes of a body of unknown length. When it ends
 * within them, returns its exact size and the bytes; otherwise (or when it
 * fails) a body that replays what was read, then the rest (or the error).
 * Never rejects: errors surface from the returned body, where writes
 * already handle them.
 */
export async function measureSmallBody(
  body: Readable,
  limit: number,
  signal?: AbortSignal,
): Promise<{ body: Readable; size?: number }> {
  if (signal) {
    addAbortSignal(signal, body);
  }
  const iterator = body[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let bytes = 0;
  let failure: unknown;
  try {
    while (bytes < limit) {
      const next = await iterator.next();
      if (next.done) {
        return {
          body: Readable.from(bytes ? [Buffer.concat(head)] : []),
          size: bytes,
        };
      }
      const chunk = Buffer.isBuffer(next.value)
        ? next.value
        : Buffer.from(next.value);
      head.push(chunk);
      bytes += chunk.length;
    }
  } catch (e) {
    failure = e;
  }
  async function* replay() {
    yield* head;
    if (failure) {
      throw failure;
    }
    // Delegating (not calling next() by hand) passes a destroy of the
    // returned body on to `body`.
    yield* { [Symbol.asyncIterator]: () => iterator };
  }
  return { body: Readable.from(replay()) };
}

/**
 * Reads a body of announced `size` whole (a small one: below the resumable
 * threshold). One that delivers more or fewer bytes fails with an
 * InputError, and nothing is sent.
 */
export async function readWholeBody(
  body: Readable,
  size: number,
  what: string,
  signal?: AbortSignal,
): Promise<Buffer> {
  if (signal) {
    addAbortSignal(signal, body);
  }
  const whole = Buffer.allocUnsafe(size);
  let bytes = 0;
  for await (const value of body) {
    const chunk = Buffer.isBuffer(value) ? value : Buffer.from(value);
    if (bytes + chunk.length > size) {
      body.destroy();
      throw new InputError(
        `${what}: expected ${size} bytes but the source delivered more`,
      );
    }
    chunk.copy(whole, bytes);
    bytes += chunk.length;
  }
  if (bytes !== size) {
    throw new InputError(
      `${what}: expected ${size} bytes but the source delivered ${bytes}`,
    );
  }
  return whole;
}

import { Readable } from 'node:stream';

/** What {@link readUpTo} read of a body. */
export type Head =
  | {
      ended: true;
      /** The whole body, in memory of its own. */
      data: Uint8Array;
    }
  | {
      ended: false;
      /** The body from its start again: what was read, then the rest. */
      rest: Readable;
    };

/** The chunks read, then what the iterator has left. */
async function* again(read: Buffer[], iterator: AsyncIterator<unknown>) {
  yield* read;
  for (;;) {
    const more = await iterator.next();
    if (more.done) return;
    yield more.value;
  }
}

/**
 * Reads `body` whole when it ends within `limit` bytes; else gives a stream
 * of all of it (the bytes read so far first) to stream on, having held at
 * most `limit` bytes plus one chunk. A body error or the signal rejects,
 * with the body destroyed.
 */
export async function readUpTo(
  body: Readable,
  limit: number,
  signal?: AbortSignal,
): Promise<Head> {
  signal?.throwIfAborted();
  const onAbort = () =>
    body.destroy(signal?.reason ?? new Error('The operation was aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  const chunks: Buffer[] = [];
  let total = 0;
  const iterator = body[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      const chunk = Buffer.isBuffer(next.value)
        ? next.value
        : Buffer.from(next.value);
      chunks.push(chunk);
      total += chunk.length;
      if (total > limit) {
        const rest = Readable.from(again(chunks.splice(0), iterator), {
          objectMode: false,
        });
        // Destroyed before its end (an aborted write): so is the body.
        rest.once('close', () => {
          if (!rest.readableEnded) body.destroy();
        });
        // The signal is the streaming write's business from here on.
        signal?.removeEventListener('abort', onAbort);
        return { ended: false, rest };
      }
    }
  } catch (e) {
    body.destroy();
    signal?.removeEventListener('abort', onAbort);
    throw e;
  }
  signal?.removeEventListener('abort', onAbort);
  const data = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    data.set(chunk, at);
    at += chunk.length;
  }
  return { ended: true, data };
}

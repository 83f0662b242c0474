import { finished, type Readable, type Writable } from 'node:stream';

/**
 * Pipes `source` into `destination` and settles when `destination` has
 * taken every byte (its writable side finished; closed, for streams that
 * close), like `stream.pipeline` for
 * two streams: errors flow both ways (either failing destroys both), a
 * source that closes before its end fails the destination, and `signal`
 * aborts both. Unlike `pipeline`, it makes no AbortController per call,
 * which `pipeline` aborts on every finish — building a DOMException with
 * its stack each time: ~35 µs, a second per 10,000 small objects copied
 * and validated.
 *
 * @public
 */
export function pipeStreams(
  source: Readable,
  destination: Writable,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      const reason = signal?.reason ?? new Error('The operation was aborted');
      source.destroy(reason);
      destination.destroy(reason);
    };
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (error) {
        source.destroy();
        destination.destroy();
        reject(error);
      } else {
        resolve();
      }
    };
    // Its writable side: a Duplex's readable side is its reader's business.
    finished(destination, { readable: false }, error =>
      settle(error ?? undefined),
    );
    finished(source, { writable: false }, error => {
      if (error) destination.destroy(error);
    });
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    source.pipe(destination);
  });
}

import { Readable, Transform } from 'node:stream';
import { pipeStreams } from './pipeStreams';
import { RetryableError } from './retryableError';
import type { ObjectStore, WriteHints, WriteResult } from './storage';

// The stream halves of guardObjectStore (stallGuard.ts).

/**
 * A store call that made no progress for too long. Retryable: the engine
 * retries the item (an `item-retry` event) and fails it after its attempts.
 * Raised by {@link guardObjectStore}.
 *
 * @public
 */
export class StoreStallError extends RetryableError {
  name = 'StoreStallError';
}

/**
 * A write that settled, but stored a different number of bytes than went
 * through its body (e.g. a server that finalised an upload early).
 * Retryable: a new attempt writes the object again.
 *
 * @public
 */
export class StoreSizeMismatchError extends RetryableError {
  name = 'StoreSizeMismatchError';
  constructor(message: string, readonly sent: number, readonly stored: number) {
    super(message);
  }
}

/** `150 ms`, `2 s`, `1.5 s`. */
export function duration(ms: number) {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}

/** Calls `fn`; a synchronous throw becomes a rejection. */
export function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * Settles like `work`, or rejects with a StoreStallError after `ms`. A late
 * rejection of `work` is swallowed (never unhandled); a late success is
 * handed to `onLate` (to release a stream nobody will read).
 */
export function bounded<T>(
  work: Promise<T>,
  ms: number,
  message: string,
  onTimeout?: () => void,
  onLate?: (value: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      onTimeout?.();
      reject(new StoreStallError(message));
    }, ms);
    work.then(
      value => {
        clearTimeout(timer);
        if (timedOut) onLate?.(value);
        else resolve(value);
      },
      error => {
        clearTimeout(timer);
        if (!timedOut) reject(error);
      },
    );
  });
}

/**
 * A read stream that fails when the store delivers nothing for `ms` while
 * the consumer waits for data. Time the consumer spends not asking (paused,
 * back-pressured, data still unread in the buffer) is not counted.
 */
export function guardReadStream(
  source: Readable,
  ms: number,
  what: string,
): Readable {
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const out = new Readable({
    highWaterMark: source.readableHighWaterMark,
    read() {
      // The consumer asks for data: from now on, silence is the store's.
      arm();
      source.resume();
    },
    destroy(error, callback) {
      disarm();
      // A consumer that gives up must not leave the store's stream open.
      if (!source.destroyed) source.destroy();
      callback(error);
    },
  });
  function disarm() {
    clearTimeout(timer);
    timer = undefined;
  }
  function arm() {
    if (timer || out.destroyed || out.readableEnded) return;
    timer = setTimeout(() => {
      timer = undefined;
      // Data still waiting in the buffer: the consumer is not asking.
      if (out.readableLength > 0) {
        arm();
        return;
      }
      out.destroy(
        new StoreStallError(
          `${what} made no progress for ${duration(
            ms,
          )} (${bytes} bytes received)`,
        ),
      );
    }, ms);
  }
  source.on('data', (chunk: Buffer) => {
    disarm();
    bytes += chunk.length;
    if (out.push(chunk)) arm();
    else source.pause();
  });
  source.once('end', () => {
    disarm();
    out.push(null);
  });
  source.on('error', error => out.destroy(error));
  source.once('close', () => {
    if (!source.readableEnded && !out.destroyed) {
      out.destroy(
        Object.assign(new Error(`${what}: the stream closed early`), {
          code: 'ERR_STREAM_PREMATURE_CLOSE',
        }),
      );
    }
  });
  return out;
}

/**
 * A write that fails when its body is not consumed, or the write has not
 * settled after the body's last byte, for `ms`; or when the stored size
 * differs from the bytes that went through the body.
 */
export function guardWrite(
  store: ObjectStore,
  ms: number,
  key: string,
  body: Readable,
  hints: WriteHints | undefined,
  /** The write to guard, when not `store.write` (a part of a parted write). */
  write: (
    guardedBody: Readable,
    writeHints: WriteHints,
  ) => Promise<WriteResult> = (b, h) => store.write(key, b, h),
  what = `write '${key}' to ${store.location.uri}`,
): Promise<WriteResult> {
  const abort = new AbortController();
  const signal = hints?.signal
    ? AbortSignal.any([hints.signal, abort.signal])
    : abort.signal;
  let bytes = 0;
  let stored: number | undefined;
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  let resolve!: (result: WriteResult) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<WriteResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });

  // What the inner store reads: the body, or its last re-read of the source
  // (`WriteHints.reread`). `bytes` is the offset in the object it has read to.
  let counter: Transform;
  /**
   * Counts what the inner store pulls from `source`, from offset `start` on.
   * No 'data' listener: the counter never flows on its own, so a store that
   * awaits before reading loses nothing.
   */
  function follow(source: Readable, start: number) {
    const c: Transform = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        // A body left for a re-read counts no more.
        if (c === counter) {
          bytes += chunk.length;
          touch();
          if (stored !== undefined && bytes > stored) mismatch(stored);
        }
        done(null, chunk);
      },
    });
    counter = c;
    bytes = start;
    // Once the write has the source, it owns it: errors flow both ways.
    pipeStreams(source, c).catch(() => {});
    // From the last byte on, the write has `ms` to settle.
    c.once('end', touch);
    touch();
    return c;
  }
  function settle(error?: Error, result?: WriteResult) {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    if (error) {
      abort.abort(error);
      counter.destroy(error);
      // Nobody will read the body now. No error: once the pipeline below has
      // finished, nothing may be listening for one.
      body.destroy();
      reject(error);
    } else {
      resolve(result!);
    }
  }
  function mismatch(size: number) {
    settle(
      new StoreSizeMismatchError(
        `${what} stored ${size} bytes, but ${bytes} were sent`,
        bytes,
        size,
      ),
    );
  }
  function stalled() {
    const starved =
      !counter.writableFinished &&
      counter.readableLength === 0 &&
      counter.writableLength === 0;
    settle(
      new StoreStallError(
        `${what} ${
          starved ? 'received no data from its source' : 'made no progress'
        } for ${duration(ms)} (${bytes} bytes sent)`,
      ),
    );
  }
  function touch() {
    clearTimeout(timer);
    if (!settled) timer = setTimeout(stalled, ms);
  }

  follow(body, 0);

  // A store that re-reads the source from an offset (`WriteHints.reread`)
  // leaves the body there: what it reads from then on is counted from that
  // offset, and the checks below are about the last read.
  const { reread } = hints ?? {};
  const guardedReread =
    reread &&
    (async (start: number) => {
      const again = await reread(start);
      if (settled) {
        again.destroy();
        throw new Error(`${what} has ended`);
      }
      return follow(again, start);
    });

  call(() =>
    write(counter, {
      ...hints,
      signal,
      ...(guardedReread && { reread: guardedReread }),
    }),
  ).then(
    result => {
      stored = result.size;
      if (bytes > result.size) {
        mismatch(result.size);
      } else if (counter.writableFinished) {
        if (bytes === result.size) settle(undefined, result);
        else mismatch(result.size);
      } else if (result.size === hints?.size && bytes === result.size) {
        // All announced bytes stored; the body's end was just not awaited.
        settle(undefined, result);
      } else if (counter.destroyed) {
        settle(
          new StoreSizeMismatchError(
            `${what} stored ${result.size} bytes and stopped reading before the end of its body (${bytes} bytes sent)`,
            bytes,
            result.size,
          ),
        );
      } else {
        // Settled before its body ended: count the rest here (bounded by the
        // idle timer); any byte beyond what was stored is a mismatch.
        counter.once('end', () =>
          bytes === result.size
            ? settle(undefined, result)
            : mismatch(result.size),
        );
        counter.resume();
      }
    },
    // A rejection after a stall or mismatch is swallowed here, not unhandled.
    error => settle(error),
  );
  return promise;
}

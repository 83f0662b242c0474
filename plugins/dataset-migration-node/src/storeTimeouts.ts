import { PassThrough, Readable, Transform } from 'node:stream';
import type { ObjectInfo, ObjectStore, WriteResult } from './storage';

/**
 * A store call that made no progress for too long. Retryable: the engine
 * retries the item (an `item-retry` event) and fails it after its attempts.
 *
 * @public
 */
export class StoreStallError extends Error {
  name = 'StoreStallError';
  readonly retryable = true;
}

/** @public */
export interface StoreTimeouts {
  /**
   * A read or write stream, or a listing page, may go this long without a
   * byte moving; a write must settle this long after its last byte.
   */
  idleMs: number;
  /** Calls without a byte stream (stat, delete, probe…). */
  operationMs: number;
  /** One server-side copy, or a sweep of a whole tree. */
  copyMs: number;
}

const INNER = Symbol('dataset-migration.inner-store');

function seconds(ms: number) {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

/**
 * Settles with `work`, or rejects with a StoreStallError after `ms`; a late
 * rejection of `work` is swallowed, never unhandled.
 */
function bounded<T>(
  work: Promise<T>,
  ms: number,
  what: string,
  onTimeout?: () => void,
): Promise<T> {
  work.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(
        new StoreStallError(`${what} did not answer within ${seconds(ms)}`),
      );
    }, ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A timer re-armed by `touch()`; when it fires, `stalled()` decides whether
 * the silence is the store's fault (then `fail` runs) or not (re-armed).
 */
function idleTimer(ms: number, stalled: () => boolean, fail: () => void) {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => (stalled() ? fail() : arm()), ms);
  };
  arm();
  return { touch: arm, clear: () => clearTimeout(timer) };
}

/** Fails a read stream that delivers nothing while its consumer waits. */
function guardReadStream(source: Readable, ms: number, what: string): Readable {
  const out = new Transform({
    transform(chunk, _enc, done) {
      timer.touch();
      done(null, chunk);
    },
  });
  // Data waiting unread in `out` means the consumer is slow, not the store.
  const timer = idleTimer(
    ms,
    () => out.readableLength === 0,
    () => {
      const error = new StoreStallError(
        `${what} delivered no data for ${seconds(ms)}`,
      );
      source.destroy(error);
      out.destroy(error);
    },
  );
  const stop = () => timer.clear();
  out.once('close', () => {
    stop();
    // A consumer that gives up must not leave the store's stream open.
    if (!source.destroyed) source.destroy();
  });
  out.once('end', stop);
  source.once('error', e => out.destroy(e));
  source.pipe(out);
  return out;
}

/**
 * Wraps a store so that no call can hang: every call is bounded by the
 * timeouts, a stall becomes a retryable {@link StoreStallError} naming the
 * location and key (never an endpoint), and a write whose stored size
 * differs from the bytes sent fails. Optional methods stay optional.
 *
 * @public
 */
export function withStoreTimeouts(
  store: ObjectStore,
  timeouts: StoreTimeouts,
): ObjectStore {
  const uri = store.location.uri;
  const op = (name: string, key?: string) =>
    `${name}${key === undefined ? '' : ` '${key}'`} in ${uri}`;
  const { idleMs, operationMs, copyMs } = timeouts;

  const guarded: ObjectStore & { [INNER]: ObjectStore } = {
    [INNER]: store,
    location: store.location,
    backendId: store.backendId,
    capabilities: store.capabilities,

    list(options) {
      const iterator = store.list(options)[Symbol.asyncIterator]();
      return {
        [Symbol.asyncIterator]: () => ({
          next: () =>
            bounded(iterator.next(), idleMs, op('list'), () => {
              iterator.return?.().catch(() => {});
            }),
          return: async () => {
            await iterator.return?.();
            return { done: true, value: undefined as unknown as ObjectInfo };
          },
        }),
      };
    },

    stat: key => bounded(store.stat(key), operationMs, op('stat', key)),
    delete: key => bounded(store.delete(key), operationMs, op('delete', key)),

    async read(key, range) {
      const stream = await bounded(
        store.read(key, range),
        operationMs,
        op('read', key),
      );
      return guardReadStream(stream, idleMs, op('read', key));
    },

    write(key, body, hints) {
      const abort = new AbortController();
      const signal = hints?.signal
        ? AbortSignal.any([hints.signal, abort.signal])
        : abort.signal;
      const counter = new PassThrough();
      let bytes = 0;
      body.once('error', e => counter.destroy(e));
      body.pipe(counter);
      return new Promise<WriteResult>((resolve, reject) => {
        let settled = false;
        const finish = (error?: Error, result?: WriteResult) => {
          if (settled) return;
          settled = true;
          timer.clear();
          if (error) reject(error);
          else resolve(result!);
        };
        const timer = idleTimer(
          idleMs,
          () => true,
          () => {
            const error = new StoreStallError(
              `write '${key}' to ${uri} made no progress for ${seconds(
                idleMs,
              )} (${bytes} bytes sent)`,
            );
            abort.abort(error);
            body.unpipe(counter);
            body.destroy(error);
            counter.destroy(error);
            finish(error);
          },
        );
        counter.on('data', chunk => {
          bytes += (chunk as Buffer).length;
          timer.touch();
        });
        const work = store.write(key, counter, { ...hints, signal });
        work.then(
          result => {
            if (result.size !== bytes) {
              finish(
                Object.assign(
                  new Error(
                    `write '${key}' to ${uri} stored ${result.size} bytes, but ${bytes} were sent`,
                  ),
                  { retryable: true },
                ),
              );
            } else {
              finish(undefined, result);
            }
          },
          error => finish(error),
        );
      });
    },
  };

  if (store.copyWithin) {
    guarded.copyWithin = (source, sourceKey, targetKey) =>
      bounded(
        store.copyWithin!(
          (source as { [INNER]?: ObjectStore })[INNER] ?? source,
          sourceKey,
          targetKey,
        ),
        copyMs,
        `server-side copy of '${sourceKey}' to '${targetKey}' in ${uri}`,
      );
  }
  if (store.probe) {
    guarded.probe = options =>
      bounded(store.probe!(options), operationMs, op('probe'));
  }
  if (store.captureRootState) {
    guarded.captureRootState = () =>
      bounded(store.captureRootState!(), operationMs, op('folder state'));
  }
  if (store.removeEmptyRoot) {
    guarded.removeEmptyRoot = state =>
      bounded(store.removeEmptyRoot!(state), operationMs, op('remove folders'));
  }
  if (store.removeTemporaryFiles) {
    guarded.removeTemporaryFiles = () =>
      bounded(store.removeTemporaryFiles!(), copyMs, op('temp file sweep'));
  }
  return guarded;
}

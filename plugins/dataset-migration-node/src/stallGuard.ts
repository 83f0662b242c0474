import type { ObjectInfo, ObjectStore, PartedWrites } from './storage';
import {
  bounded,
  call,
  duration,
  guardReadStream,
  guardWrite,
} from './stallGuardStreams';

export { StoreSizeMismatchError, StoreStallError } from './stallGuardStreams';

/**
 * Bounds of {@link guardObjectStore}. Every field is optional; the defaults
 * are {@link DEFAULT_STALL_GUARD_OPTIONS}.
 *
 * @public
 */
export interface StallGuardOptions {
  /**
   * How long a byte stream may stand still: a read stream whose consumer is
   * waiting for data, a write whose body is not being consumed (or which has
   * not settled after its last byte), or a listing's next page.
   * Default 60 000 ms. Must exceed the time the slowest expected link needs
   * to upload one part / resumable chunk, during which some clients stop
   * reading the body.
   */
  idleTimeoutMs?: number;
  /**
   * Calls without a byte stream: stat, delete, probe, captureRootState,
   * removeEmptyRoot, and `read()` until it returns its stream.
   * Default 60 000 ms.
   */
  operationTimeoutMs?: number;
  /**
   * One server-side `copyWithin` (large ones are legitimately slow) and
   * `removeTemporaryFiles` (a sweep of the whole tree). Default 900 000 ms.
   */
  copyTimeoutMs?: number;
}

/** @public */
export const DEFAULT_STALL_GUARD_OPTIONS: Readonly<
  Required<StallGuardOptions>
> = Object.freeze({
  idleTimeoutMs: 60_000,
  operationTimeoutMs: 60_000,
  copyTimeoutMs: 900_000,
});

/** Guarded store → the store it wraps (for `copyWithin`'s source). */
const INNER = new WeakMap<ObjectStore, ObjectStore>();

/**
 * Records that `wrapper` forwards every call to `inner`, so that
 * {@link unwrapGuardedStore}, and with it a guarded store's `copyWithin`,
 * sees through it: a backend copies server-side only from its own stores.
 * For wrappers of other packages (the engine's request-rate limits).
 *
 * @public
 */
export function registerStoreWrapper(
  wrapper: ObjectStore,
  inner: ObjectStore,
): void {
  INNER.set(wrapper, inner);
}

/**
 * The store a {@link guardObjectStore} wrapper (or several, or any
 * {@link registerStoreWrapper} wrapper) wraps; `store` itself when it is
 * not wrapped.
 *
 * @public
 */
export function unwrapGuardedStore(store: ObjectStore): ObjectStore {
  let s = store;
  while (INNER.has(s)) s = INNER.get(s)!;
  return s;
}

/**
 * Wraps a store so that no call can hang: every call is bounded, and a
 * stall becomes a retryable {@link StoreStallError} naming the location and
 * key (never an endpoint). A write whose stored size differs from the bytes
 * that went through its body fails with a {@link StoreSizeMismatchError}.
 * Optional methods stay present or absent as on `store`; `copyWithin`
 * accepts guarded sources (they are unwrapped for the inner store).
 *
 * @public
 */
export function guardObjectStore(
  store: ObjectStore,
  options: StallGuardOptions,
): ObjectStore {
  const { idleTimeoutMs, operationTimeoutMs, copyTimeoutMs } = {
    ...DEFAULT_STALL_GUARD_OPTIONS,
    ...Object.fromEntries(
      Object.entries(options).filter(([, v]) => v !== undefined),
    ),
  };
  for (const [name, value] of Object.entries({
    idleTimeoutMs,
    operationTimeoutMs,
    copyTimeoutMs,
  })) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new TypeError(
        `guardObjectStore: ${name} must be a positive number`,
      );
    }
  }
  const uri = store.location.uri;
  const op = (name: string, key?: string) =>
    `${name}${key === undefined ? '' : ` '${key}'`} in ${uri}`;
  const opBound = <T>(what: string, fn: () => Promise<T>) =>
    bounded(
      call(fn),
      operationTimeoutMs,
      `${what} did not answer within ${duration(operationTimeoutMs)}`,
    );

  const guarded: ObjectStore = {
    location: store.location,
    backendId: store.backendId,
    capabilities: store.capabilities,

    list(listOptions) {
      return {
        [Symbol.asyncIterator]() {
          const abort = new AbortController();
          const signal = listOptions?.signal
            ? AbortSignal.any([listOptions.signal, abort.signal])
            : abort.signal;
          const iterator = store
            .list({ ...listOptions, signal })
            [Symbol.asyncIterator]();
          let listed = 0;
          return {
            next: async () => {
              const result = await bounded(
                call(() => iterator.next()),
                idleTimeoutMs,
                `list of ${uri} made no progress for ${duration(
                  idleTimeoutMs,
                )} (${listed} objects listed)`,
                () => {
                  abort.abort();
                  call(async () => iterator.return?.()).catch(() => {});
                },
              );
              if (!result.done) listed++;
              return result;
            },
            return: async () => {
              await iterator.return?.();
              return { done: true, value: undefined as unknown as ObjectInfo };
            },
          };
        },
      };
    },

    stat: key => opBound(op('stat', key), () => store.stat(key)),
    delete: key => opBound(op('delete', key), () => store.delete(key)),

    async read(key, range) {
      const stream = await bounded(
        call(() => store.read(key, range)),
        operationTimeoutMs,
        `read '${key}' from ${uri} did not answer within ${duration(
          operationTimeoutMs,
        )}`,
        undefined,
        late => late.destroy(),
      );
      return guardReadStream(
        stream,
        idleTimeoutMs,
        `read '${key}' from ${uri}`,
      );
    },

    write: (key, body, hints) =>
      guardWrite(store, idleTimeoutMs, key, body, hints),
  };
  INNER.set(guarded, store);

  if (store.copyWithin) {
    guarded.copyWithin = (source, sourceKey, targetKey, hints) =>
      bounded(
        call(() =>
          store.copyWithin!(
            unwrapGuardedStore(source),
            sourceKey,
            targetKey,
            hints,
          ),
        ),
        copyTimeoutMs,
        `server-side copy of '${sourceKey}' from ${
          source.location.uri
        } to '${targetKey}' in ${uri} did not complete within ${duration(
          copyTimeoutMs,
        )}`,
      );
  }
  if (store.parts) {
    guarded.parts = guardParts(store, store.parts, {
      idleTimeoutMs,
      operationTimeoutMs,
      copyTimeoutMs,
    });
  }
  if (store.probe) {
    guarded.probe = probeOptions => {
      const abort = new AbortController();
      const signal = probeOptions?.signal
        ? AbortSignal.any([probeOptions.signal, abort.signal])
        : abort.signal;
      return bounded(
        call(() => store.probe!({ ...probeOptions, signal })),
        operationTimeoutMs,
        `probe of ${uri} did not answer within ${duration(operationTimeoutMs)}`,
        () => abort.abort(),
      );
    };
  }
  if (store.captureRootState) {
    guarded.captureRootState = () =>
      opBound(`folder state of ${uri}`, () => store.captureRootState!());
  }
  if (store.removeEmptyRoot) {
    guarded.removeEmptyRoot = state =>
      opBound(`removing empty folders of ${uri}`, () =>
        store.removeEmptyRoot!(state),
      );
  }
  if (store.removeTemporaryFiles) {
    guarded.removeTemporaryFiles = () =>
      bounded(
        call(() => store.removeTemporaryFiles!()),
        copyTimeoutMs,
        `temporary file sweep of ${uri} did not complete within ${duration(
          copyTimeoutMs,
        )}`,
      );
  }
  return guarded;
}

/**
 * A parted write's calls, bounded like the store's: a part's body like a
 * write's (idle timeout, size check), `complete` like a server-side copy
 * (S3 assembles the parts), the others like any request.
 */
function guardParts(
  store: ObjectStore,
  parts: PartedWrites,
  timeouts: Required<StallGuardOptions>,
): PartedWrites {
  const { idleTimeoutMs, operationTimeoutMs, copyTimeoutMs } = timeouts;
  const uri = store.location.uri;
  const within = <T>(ms: number, what: string, fn: () => Promise<T>) =>
    bounded(
      call(fn),
      ms,
      `${what} in ${uri} did not answer within ${duration(ms)}`,
    );
  return {
    partSizeMultiple: parts.partSizeMultiple,
    maxSize: parts.maxSize,
    begin: (key, hints) =>
      within(operationTimeoutMs, `starting the parted write of '${key}'`, () =>
        parts.begin(key, hints),
      ),
    async writePart(key, uploadId, part, body, hints) {
      let token = '';
      const result = await guardWrite(
        store,
        idleTimeoutMs,
        key,
        body,
        { size: part.size, signal: hints?.signal },
        async (guardedBody, writeHints) => {
          const written = await parts.writePart(
            key,
            uploadId,
            part,
            guardedBody,
            { signal: writeHints.signal },
          );
          token = written.token;
          return { size: written.size, checksums: {} };
        },
        `write part ${part.number} of '${key}' to ${uri}`,
      );
      return { token, size: result.size };
    },
    complete: (key, uploadId, list, hints) =>
      within(copyTimeoutMs, `completing the parted write of '${key}'`, () =>
        parts.complete(key, uploadId, list, hints),
      ),
    abort: (key, uploadId) =>
      within(operationTimeoutMs, `aborting the parted write of '${key}'`, () =>
        parts.abort(key, uploadId),
      ),
  };
}

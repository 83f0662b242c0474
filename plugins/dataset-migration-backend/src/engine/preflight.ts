import { ServiceUnavailableError } from '@backstage/errors';
import type { ObjectStore } from '@internal/backstage-plugin-dataset-migration-node';
import type { MigrationRow } from '../database/MigrationStore';
import type { EngineContext, StoreCache } from './context';

/** Errors a probe may throw whose message was written for the caller. */
const CLEAN = new Set([
  'InputError',
  'NotAllowedError',
  'NotFoundError',
  'AuthenticationError',
  'ServiceUnavailableError',
]);

function seconds(ms: number) {
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * Probes one store within `signal`. A store without `probe` passes (it has
 * nothing cheap to check). An abort or a timeout becomes a 503 naming the
 * location only.
 */
async function probeOne(
  store: ObjectStore,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<void> {
  if (!store.probe) return;
  const timedOut = () =>
    new ServiceUnavailableError(
      `${store.location.uri} did not answer within ${seconds(timeoutMs)}`,
    );
  let onAbort = () => {};
  // Raced as well, for probes that ignore their signal.
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(timedOut());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const probing = Promise.resolve().then(() => store.probe!({ signal }));
  probing.catch(() => undefined);
  try {
    await Promise.race([probing, aborted]);
  } catch (e) {
    const name = e instanceof Error ? e.name : '';
    if (signal.aborted && !CLEAN.has(name)) throw timedOut();
    if (name === 'AbortError' || name === 'TimeoutError') throw timedOut();
    // The engine's stall guard (withStoreTimeouts): its message names the
    // call and the location only.
    if (name === 'StoreStallError') {
      throw new ServiceUnavailableError((e as Error).message);
    }
    throw e;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Checks, in parallel and within `timeoutMs` in all, that every store can be
 * reached: bucket or root exists, credentials work. Rejects with the first
 * failure (the store's own `InputError` / `NotAllowedError` /
 * `NotFoundError` / `ServiceUnavailableError`, or a 503 naming the location
 * that did not answer in time) and stops the other probes. Errors a probe
 * throws that are not one of those classes are passed on unchanged (the
 * router answers them with a generic 500 and logs them).
 */
export async function probeStores(
  stores: ObjectStore[],
  timeoutMs: number,
  options?: { signal?: AbortSignal },
): Promise<void> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const onOuterAbort = () => controller.abort();
  options?.signal?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    await Promise.all(
      stores.map(store =>
        probeOne(store, controller.signal, timeoutMs).catch(e => {
          // The first failure decides; the others need not go on.
          controller.abort();
          throw e;
        }),
      ),
    );
  } finally {
    clearTimeout(timer);
    options?.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/**
 * The preflight step. Opening the stores checks roots and the backup area up
 * front; the probes check that buckets exist and credentials work, in a
 * bounded time. Then, before the first write, the target's folder state is
 * recorded so a rollback can restore it.
 */
export async function runPreflight(
  ctx: EngineContext,
  cache: StoreCache,
  m: MigrationRow,
): Promise<void> {
  const { source, target } = await cache.get(m);
  await probeStores([source, target], ctx.config.timeouts.preflightMs);
  if (target.captureRootState && m.targetRootState === undefined) {
    await ctx.stores.migrations.setTargetRootState(
      m.id,
      await target.captureRootState(),
    );
  }
  ctx.assertAlive();
}

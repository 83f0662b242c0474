import type { Config } from '@backstage/config';
import {
  type DatasetLocation,
  InvalidLocationError,
  parseLocation,
  relateLocations,
} from '@internal/backstage-plugin-dataset-migration-common';
import {
  type ObjectInfo,
  type ObjectStore,
  registerStoreWrapper,
  RetryableError,
  systemClock,
  unwrapGuardedStore,
} from '@internal/backstage-plugin-dataset-migration-node';
import type { RateLimitStore, TokenBucket } from '../database/RateLimitStore';

/** One entry of `datasetMigration.rateLimits`. */
export interface RateLimit {
  /** The limited location, normalised: a bucket (`s3://b`) or a prefix of one. */
  location: DatasetLocation;
  requestsPerSecond: number;
  /** Requests allowed back to back; default one second's worth. */
  burst: number;
}

/**
 * Reads `datasetMigration.rateLimits`. Refuses entries that could not
 * work (an invalid location, a rate ≤ 0, the same location twice), so a
 * typo does not silently lift a limit.
 */
export function readRateLimits(c: Config | undefined): RateLimit[] {
  const entries = c?.getOptionalConfigArray('rateLimits') ?? [];
  const seen = new Set<string>();
  return entries.map((entry, i) => {
    const at = `datasetMigration.rateLimits[${i}]`;
    let location: DatasetLocation;
    try {
      location = parseLocation(entry.getString('location'));
    } catch (e) {
      if (e instanceof InvalidLocationError) {
        throw new Error(`${at}.location: ${e.message}`);
      }
      throw e;
    }
    if (seen.has(location.uri)) {
      throw new Error(`${at}: ${location.uri} has a rate limit already`);
    }
    seen.add(location.uri);
    const requestsPerSecond = entry.getNumber('requestsPerSecond');
    if (!(requestsPerSecond > 0)) {
      throw new Error(`${at}.requestsPerSecond must be a positive number`);
    }
    const burst =
      entry.getOptionalNumber('burst') ?? Math.max(1, requestsPerSecond);
    if (!(burst >= 1)) {
      throw new Error(`${at}.burst must be at least 1`);
    }
    return { location, requestsPerSecond, burst };
  });
}

/** Waits for permission to send one request; rejects when `signal` aborts. */
export type AcquireToken = (signal?: AbortSignal) => Promise<void>;

/**
 * Listings come in pages the wrapper cannot see; the S3 and GCS backends
 * ask for 1,000 objects per page, so one token is taken per 1,000 objects.
 */
export const LIST_OBJECTS_PER_TOKEN = 1000;

/**
 * A store whose request methods (`read`, `write`, `stat`, `delete`,
 * `copyWithin`, each page of `list`) first wait for `acquire`. Results,
 * streams and errors are the inner store's, untouched. Probes and folder
 * bookkeeping are not limited: they are rare, and a probe has a deadline
 * a token wait must not eat into. One call is one token, even when a
 * backend splits it (a multipart upload). A server-side copy takes a
 * token of the target's limit (the store it is called on) only.
 */
export function rateLimitObjectStore(
  store: ObjectStore,
  acquire: AcquireToken,
): ObjectStore {
  const limited: ObjectStore = {
    location: store.location,
    backendId: store.backendId,
    capabilities: store.capabilities,

    list(options) {
      return {
        [Symbol.asyncIterator]() {
          const iterator = store.list(options)[Symbol.asyncIterator]();
          let listed = 0;
          return {
            async next() {
              if (listed % LIST_OBJECTS_PER_TOKEN === 0) {
                await acquire(options?.signal);
              }
              const result = await iterator.next();
              if (!result.done) listed++;
              return result;
            },
            async return() {
              await iterator.return?.();
              return { done: true, value: undefined as unknown as ObjectInfo };
            },
          };
        },
      };
    },
    async stat(key) {
      await acquire();
      return store.stat(key);
    },
    async read(key, range) {
      await acquire();
      return store.read(key, range);
    },
    async write(key, body, hints) {
      await acquire(hints?.signal);
      return store.write(key, body, hints);
    },
    async delete(key) {
      await acquire();
      return store.delete(key);
    },
  };
  if (store.copyWithin) {
    limited.copyWithin = async (source, sourceKey, targetKey, hints) => {
      await acquire();
      return store.copyWithin!(
        unwrapGuardedStore(source),
        sourceKey,
        targetKey,
        hints,
      );
    };
  }
  if (store.parts) {
    // One token per request: a part (which a backend may send as several)
    // and the upload's start, end or abort.
    const parts = store.parts;
    limited.parts = {
      partSizeMultiple: parts.partSizeMultiple,
      maxSize: parts.maxSize,
      async begin(key, hints) {
        await acquire(hints.signal);
        return parts.begin(key, hints);
      },
      async writePart(key, uploadId, part, body, hints) {
        await acquire(hints?.signal);
        return parts.writePart(key, uploadId, part, body, hints);
      },
      async complete(key, uploadId, list, hints) {
        await acquire(hints?.signal);
        return parts.complete(key, uploadId, list, hints);
      },
      async abort(key, uploadId) {
        await acquire();
        return parts.abort(key, uploadId);
      },
    };
  }
  for (const name of [
    'probe',
    'captureRootState',
    'removeEmptyRoot',
    'removeTemporaryFiles',
  ] as const) {
    const method = store[name];
    if (method) {
      (limited as unknown as Record<string, unknown>)[name] =
        method.bind(store);
    }
  }
  // A guarded store that is not limited may be handed this one as the
  // source of a server-side copy.
  registerStoreWrapper(limited, store);
  return limited;
}

/** At most this many tokens per round trip to the database. */
export const MAX_TOKENS_PER_TAKE = 10;
/**
 * Tokens a replica took and did not use within this time are dropped:
 * held longer, they would add to a later second's requests.
 */
export const TOKEN_HOLD_MS = 1000;
/** Bounds of the wait between two takes from an empty bucket. */
const MIN_WAIT_MS = 5;
const MAX_WAIT_MS = 1000;

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * One replica's side of one shared bucket: takes tokens from the database
 * a few at a time (up to a tenth of a second's worth, at most
 * {@link MAX_TOKENS_PER_TAKE}) and hands them to its callers in order.
 * One take at a time per bucket and replica.
 */
export class SharedRateLimiter {
  private tokens = 0;
  private tokensAt = 0;
  private readonly waiters: Waiter[] = [];
  private pumping = false;
  private readonly batch: number;

  constructor(
    private readonly store: RateLimitStore,
    private readonly key: string,
    private readonly bucket: TokenBucket,
    /** The engine's: once aborted, every wait rejects. */
    private readonly stopped?: AbortSignal,
  ) {
    this.batch = Math.max(
      1,
      Math.min(
        MAX_TOKENS_PER_TAKE,
        Math.floor(bucket.burst),
        Math.floor(bucket.ratePerSecond / 10),
      ),
    );
  }

  acquire: AcquireToken = signal => {
    const aborted = [signal, this.stopped].find(s => s?.aborted);
    if (aborted) return Promise.reject(abortReason(aborted));
    if (this.waiters.length === 0 && this.takeLocal()) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
      this.pump();
    });
  };

  private takeLocal(): boolean {
    if (this.tokens > 0 && Date.now() - this.tokensAt > TOKEN_HOLD_MS) {
      this.tokens = 0;
    }
    if (this.tokens === 0) return false;
    this.tokens--;
    return true;
  }

  private settle(waiter: Waiter, error?: unknown) {
    if (waiter.onAbort) {
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
    }
    if (error === undefined) waiter.resolve();
    else waiter.reject(error);
  }

  private async pump() {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.waiters.length > 0) {
        if (this.stopped?.aborted) {
          for (const w of this.waiters.splice(0)) {
            this.settle(w, abortReason(this.stopped));
          }
          return;
        }
        if (this.takeLocal()) {
          this.settle(this.waiters.shift()!);
          continue;
        }
        let taken;
        try {
          taken = await this.store.take(this.key, this.batch, this.bucket);
        } catch (e) {
          // The request is not sent: worth another try of the item, once
          // the database answers again.
          const error = new RetryableError(
            `Could not take a request token for ${this.key}: ${
              e instanceof Error ? e.message : String(e)
            }`,
          );
          for (const w of this.waiters.splice(0)) this.settle(w, error);
          return;
        }
        if (taken.granted > 0) {
          this.tokens = taken.granted;
          this.tokensAt = Date.now();
          continue;
        }
        await systemClock
          .sleep(
            Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, taken.waitMs)),
            this.stopped,
          )
          .catch(() => {});
      }
    } finally {
      this.pumping = false;
    }
  }
}

function abortReason(signal: AbortSignal) {
  return signal.reason ?? new Error('aborted');
}

/**
 * The configured request-rate limits of this replica, shared with the
 * fleet through `dm_rate_limits`: {@link wrap} limits a store that is, or
 * lies inside, a limited location. A store inside several (a bucket and a
 * prefix of it) waits for each.
 */
export class StoreRateLimits {
  private readonly limiters = new Map<string, SharedRateLimiter>();

  constructor(
    private readonly store: RateLimitStore,
    private readonly limits: RateLimit[],
    private readonly stopped?: AbortSignal,
  ) {}

  /** `store` itself when no limit applies to its location. */
  wrap(store: ObjectStore): ObjectStore {
    const matching = this.limits.filter(limit =>
      ['same', 'inside'].includes(
        relateLocations(store.location, limit.location),
      ),
    );
    if (matching.length === 0) return store;
    const limiters = matching.map(limit => this.limiter(limit));
    return rateLimitObjectStore(store, async signal => {
      for (const limiter of limiters) await limiter.acquire(signal);
    });
  }

  private limiter(limit: RateLimit): SharedRateLimiter {
    const key = limit.location.uri;
    let limiter = this.limiters.get(key);
    if (!limiter) {
      limiter = new SharedRateLimiter(
        this.store,
        key,
        { ratePerSecond: limit.requestsPerSecond, burst: limit.burst },
        this.stopped,
      );
      this.limiters.set(key, limiter);
    }
    return limiter;
  }
}

/**
 * Time source for {@link RequestRateLimiter}; tests pass a fake one.
 *
 * @public
 */
export interface LimiterClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** @public */
export const systemClock: LimiterClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason ?? new Error('aborted'));
        return;
      }
      const state: { timer?: ReturnType<typeof setTimeout> } = {};
      const onAbort = () => {
        clearTimeout(state.timer);
        reject(signal?.reason ?? new Error('aborted'));
      };
      state.timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** @public */
export interface RequestRateLimiterOptions {
  /** Ceiling in requests per second. */
  maxPerSecond: number;
  /** Rate at the first request; defaults to `maxPerSecond` (no ramp). */
  initialPerSecond?: number;
  /**
   * The rate doubles every this many minutes, from `initialPerSecond` up to
   * `maxPerSecond`. 0 or undefined means no ramp.
   */
  rampDoublingMinutes?: number;
  /** Requests allowed back to back; defaults to one second's worth. */
  burst?: number;
  clock?: LimiterClock;
}

/**
 * A token bucket (implemented as GCRA, so waiters are served in order without
 * a queue) whose rate ramps up stepwise. Object stores partition their key
 * space gradually: GCS asks to start at ≤ 1,000 writes/s per bucket and to
 * double at most every 20 minutes; S3 allows 3,500 writes/s per prefix and
 * answers `SlowDown` while it repartitions. Staying under those rates costs
 * less than being throttled and retrying.
 *
 * @public
 */
export class RequestRateLimiter {
  readonly #max: number;
  readonly #initial: number;
  readonly #doublingMs: number;
  readonly #burst?: number;
  readonly #clock: LimiterClock;
  #startedAt?: number;
  /** Theoretical arrival time of the next request (GCRA). */
  #tat = 0;

  constructor(options: RequestRateLimiterOptions) {
    if (!(options.maxPerSecond > 0)) {
      throw new TypeError('maxPerSecond must be a positive number');
    }
    this.#max = options.maxPerSecond;
    this.#initial = Math.min(
      options.initialPerSecond ?? options.maxPerSecond,
      options.maxPerSecond,
    );
    if (!(this.#initial > 0)) {
      throw new TypeError('initialPerSecond must be a positive number');
    }
    this.#doublingMs = (options.rampDoublingMinutes ?? 0) * 60_000;
    this.#burst = options.burst;
    this.#clock = options.clock ?? systemClock;
  }

  /** The rate in force at `now` (requests per second). */
  currentRate(now = this.#clock.now()): number {
    if (this.#doublingMs <= 0 || this.#startedAt === undefined) {
      return this.#doublingMs <= 0 ? this.#max : this.#initial;
    }
    const doublings = Math.floor((now - this.#startedAt) / this.#doublingMs);
    // 2^doublings overflows to Infinity harmlessly after ~1000 doublings.
    return Math.min(this.#max, this.#initial * 2 ** doublings);
  }

  /** Resolves when the caller may send one request. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const now = this.#clock.now();
    this.#startedAt ??= now;
    const rate = this.currentRate(now);
    const interval = 1000 / rate;
    const burst = Math.max(1, this.#burst ?? rate);
    const tat = Math.max(this.#tat, now);
    const wait = tat - (burst - 1) * interval - now;
    this.#tat = tat + interval;
    if (wait > 0) {
      await this.#clock.sleep(wait, signal);
    }
  }
}

/**
 * Request-rate limits a storage backend applies per scope (a bucket, or a
 * bucket + prefix): one write limiter with a ramp and one read limiter per
 * scope, created on first use and shared by every migration touching it.
 *
 * @public
 */
export interface ScopedRateLimitOptions {
  maxWritesPerSecond: number;
  initialWritesPerSecond?: number;
  rampDoublingMinutes?: number;
  maxReadsPerSecond: number;
  clock?: LimiterClock;
}

/** @public */
export class ScopedRateLimiters {
  readonly #limiters = new Map<string, RequestRateLimiter>();

  constructor(private readonly options: ScopedRateLimitOptions) {}

  get(scope: string, kind: 'read' | 'write'): RequestRateLimiter {
    const key = `${kind}:${scope}`;
    let limiter = this.#limiters.get(key);
    if (!limiter) {
      const { clock } = this.options;
      limiter =
        kind === 'write'
          ? new RequestRateLimiter({
              maxPerSecond: this.options.maxWritesPerSecond,
              initialPerSecond: this.options.initialWritesPerSecond,
              rampDoublingMinutes: this.options.rampDoublingMinutes,
              clock,
            })
          : new RequestRateLimiter({
              maxPerSecond: this.options.maxReadsPerSecond,
              clock,
            });
      this.#limiters.set(key, limiter);
    }
    return limiter;
  }
}

import type { Config } from '@backstage/config';

/**
 * How many work items one replica may have in flight, and where it starts
 * (`datasetMigration.workers.*`).
 */
export interface ConcurrencyLimits {
  /** `workers.minConcurrency`: the floor of every decrease. */
  min: number;
  /** `workers.maxConcurrency`: the ceiling of every increase. */
  max: number;
  /** `workers.concurrency`: the limit at start, within min and max. */
  initial: number;
  /**
   * `workers.memoryLimitMiB` in bytes: the resident memory this replica may
   * use. Undefined: the V8 heap limit each observation reports.
   */
  memoryLimitBytes?: number;
}

/** Default of `workers.concurrency` (the starting value). */
export const DEFAULT_CONCURRENCY = 4;
/** Default of `workers.maxConcurrency` when `workers.concurrency` is unset. */
export const DEFAULT_MAX_CONCURRENCY = 16;

function positiveInteger(c: Config | undefined, key: string) {
  const value = c?.getOptionalNumber(key);
  if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
    throw new Error(`datasetMigration.${key} must be an integer ≥ 1`);
  }
  return value;
}

/**
 * Reads the limits from `datasetMigration` config. `workers.concurrency`
 * keeps its meaning as the starting value; when it is set and
 * `maxConcurrency` is not, it is also the ceiling, so a deployment that
 * set it never runs more than it asked for. `minConcurrency` =
 * `maxConcurrency` pins the limit.
 */
export function readConcurrencyLimits(
  c: Config | undefined,
): ConcurrencyLimits {
  const concurrency = positiveInteger(c, 'workers.concurrency');
  const min = positiveInteger(c, 'workers.minConcurrency') ?? 1;
  const max =
    positiveInteger(c, 'workers.maxConcurrency') ??
    Math.max(min, concurrency ?? DEFAULT_MAX_CONCURRENCY);
  if (min > max) {
    throw new Error(
      `datasetMigration.workers.minConcurrency (${min}) exceeds workers.maxConcurrency (${max})`,
    );
  }
  const memoryMiB = c?.getOptionalNumber('workers.memoryLimitMiB');
  if (memoryMiB !== undefined && !(memoryMiB > 0)) {
    throw new Error(
      'datasetMigration.workers.memoryLimitMiB must be a positive number',
    );
  }
  return {
    min,
    max,
    initial: Math.min(max, Math.max(min, concurrency ?? DEFAULT_CONCURRENCY)),
    memoryLimitBytes:
      memoryMiB === undefined ? undefined : memoryMiB * 1024 * 1024,
  };
}

/**
 * What the worker loop knows at one poll. The three counts are totals since
 * the loop started (never reset); the controller takes their differences,
 * so a skipped or extra call loses nothing.
 */
export interface ConcurrencyObservation {
  /** Items any replica could claim now (fleet-wide, `MetricsStore.queueDepth`). */
  queueDepth: number;
  /** Items this replica is working on now. */
  inFlight: number;
  /** Item attempts this replica finished, whatever their outcome. */
  completed: number;
  /** Of those, attempts that ended in an error (throttling included). */
  failed: number;
  /** Of the failed ones, those whose error was throttling (`isThrottlingError`). */
  throttled: number;
  /** `process.memoryUsage.rss()`. */
  rssBytes: number;
  /** `v8.getHeapStatistics().heap_size_limit`: the limit when none is configured. */
  heapLimitBytes?: number;
}

/** Why the limit changed. */
export type ConcurrencyChangeReason =
  | 'backlog'
  | 'throttled'
  | 'memory'
  | 'idle';

export interface ConcurrencyChange {
  from: number;
  to: number;
  reason: ConcurrencyChangeReason;
}

export interface AdaptiveConcurrencyOptions {
  /** Milliseconds between two decisions; default {@link DEFAULT_WINDOW_MS}. */
  windowMs?: number;
  /** The controller's clock (tests). */
  now?: () => number;
  /** Hears of every change (the worker logs it). */
  onChange?: (change: ConcurrencyChange) => void;
}

/**
 * One decision per window: long enough to see a few items finish at the
 * default 500 ms poll, short enough that 1 → 16 takes about a minute.
 */
export const DEFAULT_WINDOW_MS = 5_000;
/** Growth stops when more of a window's attempts than this fail. */
export const MAX_GROWTH_ERROR_RATE = 0.02;
/** Growth stops when resident memory reaches this share of the limit. */
export const MEMORY_GROWTH_CEILING = 0.8;
/** The limit halves when resident memory reaches this share of the limit. */
export const MEMORY_PRESSURE = 0.9;

type Count = 'completed' | 'failed' | 'throttled';

interface Window {
  startedAt: number;
  completed: number;
  failed: number;
  throttled: number;
  peakInFlight: number;
}

/**
 * The number of items this replica keeps in flight, adjusted the way TCP
 * adjusts its window (additive increase, multiplicative decrease), from
 * what the worker loop observes at each poll:
 *
 * - **Halve at once** (never below `min`) when an attempt ended in a
 *   throttling error, or resident memory reached {@link MEMORY_PRESSURE} of
 *   the limit. A throttling store wants fewer requests now, and memory
 *   grows with the items in flight (buffers, spill files, DuckDB). Then no
 *   change for one window, so the items already in flight (which started
 *   under the old limit and may still be throttled) do not halve it again;
 *   throttling or pressure that lasts halves it once per window.
 * - **Grow by one** at the end of a window in which every slot was taken,
 *   more items wait to be claimed than this replica has in flight, fewer
 *   than {@link MAX_GROWTH_ERROR_RATE} of the attempts failed, none was
 *   throttled, and memory stayed under {@link MEMORY_GROWTH_CEILING}.
 *   One at a time: the store's or the database's limit is found by
 *   approaching it, and the gap between the two memory thresholds keeps it
 *   from growing straight back into pressure.
 * - **Shrink by one** at the end of a window with nothing waiting and a
 *   slot never used, so a burst of new work after a quiet spell starts
 *   from a few requests at a time and grows from there.
 * - Otherwise hold. Errors other than throttling only stop growth: fewer
 *   requests do not make a failing store work.
 *
 * The controller has no timer: the worker loop calls {@link observe} every
 * poll and reads {@link current} before claiming.
 */
export class AdaptiveConcurrency {
  private limit: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private window: Window;
  private lastDecreaseAt = -Infinity;
  private readonly previous: Record<Count, number> = {
    completed: 0,
    failed: 0,
    throttled: 0,
  };

  constructor(
    private readonly limits: ConcurrencyLimits,
    private readonly options: AdaptiveConcurrencyOptions = {},
  ) {
    if (!(limits.min >= 1 && limits.max >= limits.min)) {
      throw new TypeError(
        `AdaptiveConcurrency: need 1 ≤ min ≤ max, got min ${limits.min}, max ${limits.max}`,
      );
    }
    this.limit = this.clamp(limits.initial);
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.now = options.now ?? Date.now;
    this.window = this.newWindow(this.now());
  }

  /** How many items this replica may have in flight now. */
  current(): number {
    return this.limit;
  }

  /** Takes one poll's observation into account; returns the new limit. */
  observe(o: ConcurrencyObservation): number {
    const now = this.now();
    const window = this.window;
    window.completed += this.delta('completed', o.completed);
    window.failed += this.delta('failed', o.failed);
    window.throttled += this.delta('throttled', o.throttled);
    window.peakInFlight = Math.max(window.peakInFlight, o.inFlight);

    const memoryLimit = this.limits.memoryLimitBytes ?? o.heapLimitBytes;
    const memory = memoryLimit ? o.rssBytes / memoryLimit : 0;
    const pressure =
      window.throttled > 0
        ? 'throttled'
        : memory >= MEMORY_PRESSURE && 'memory';
    if (pressure && now - this.lastDecreaseAt >= this.windowMs) {
      this.lastDecreaseAt = now;
      this.window = this.newWindow(now);
      return this.set(Math.floor(this.limit / 2), pressure);
    }
    if (now - window.startedAt < this.windowMs) return this.limit;

    this.window = this.newWindow(now);
    const errorRate =
      window.completed > 0 ? window.failed / window.completed : 0;
    if (
      window.peakInFlight >= this.limit &&
      o.queueDepth > o.inFlight &&
      errorRate < MAX_GROWTH_ERROR_RATE &&
      window.throttled === 0 &&
      memory < MEMORY_GROWTH_CEILING
    ) {
      return this.set(this.limit + 1, 'backlog');
    }
    if (o.queueDepth === 0 && window.peakInFlight < this.limit) {
      return this.set(this.limit - 1, 'idle');
    }
    return this.limit;
  }

  private delta(key: Count, total: number) {
    // A total lower than the last one (a restarted counter) is a new base.
    const d = Math.max(0, total - this.previous[key]);
    this.previous[key] = total;
    return d;
  }

  private newWindow(now: number): Window {
    return {
      startedAt: now,
      completed: 0,
      failed: 0,
      throttled: 0,
      peakInFlight: 0,
    };
  }

  private clamp(n: number) {
    return Math.min(this.limits.max, Math.max(this.limits.min, n));
  }

  private set(n: number, reason: ConcurrencyChangeReason) {
    const from = this.limit;
    this.limit = this.clamp(n);
    if (this.limit !== from) {
      this.options.onChange?.({ from, to: this.limit, reason });
    }
    return this.limit;
  }
}

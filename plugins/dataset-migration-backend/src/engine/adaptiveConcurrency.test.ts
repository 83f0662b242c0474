import { ConfigReader } from '@backstage/config';
import {
  AdaptiveConcurrency,
  ConcurrencyChange,
  ConcurrencyLimits,
  ConcurrencyObservation,
  DEFAULT_WINDOW_MS,
  readConcurrencyLimits,
} from './adaptiveConcurrency';

const MiB = 1024 * 1024;
const WINDOW = DEFAULT_WINDOW_MS;

/**
 * A controller on a fake clock, and a worker loop that feeds it: totals
 * accumulate as the real loop's counters do.
 */
function setup(limits: Partial<ConcurrencyLimits> = {}) {
  let now = 1_000_000;
  const changes: ConcurrencyChange[] = [];
  const controller = new AdaptiveConcurrency(
    { min: 1, max: 16, initial: 4, memoryLimitBytes: 1000 * MiB, ...limits },
    { now: () => now, onChange: c => changes.push(c) },
  );
  const totals = { completed: 0, failed: 0, throttled: 0 };
  const base = { queueDepth: 100, rssBytes: 100 * MiB };

  /** One poll `ms` after the last: `attempts` finished since then. */
  function poll(
    ms: number,
    o: Partial<ConcurrencyObservation> & {
      attempts?: { ok?: number; failed?: number; throttled?: number };
    } = {},
  ) {
    now += ms;
    const { attempts = {}, ...rest } = o;
    const failed = (attempts.failed ?? 0) + (attempts.throttled ?? 0);
    totals.completed += (attempts.ok ?? 0) + failed;
    totals.failed += failed;
    totals.throttled += attempts.throttled ?? 0;
    return controller.observe({
      ...base,
      inFlight: controller.current(),
      ...totals,
      ...rest,
    });
  }

  /** Busy windows with a backlog and no errors. */
  function busyWindows(n: number) {
    for (let i = 0; i < n; i++) poll(WINDOW, { attempts: { ok: 50 } });
    return controller.current();
  }

  return { controller, poll, busyWindows, changes };
}

describe('AdaptiveConcurrency', () => {
  it('starts at the configured concurrency', () => {
    expect(setup({ initial: 6 }).controller.current()).toBe(6);
    expect(setup({ initial: 40, max: 16 }).controller.current()).toBe(16);
    expect(setup({ initial: 1, min: 3 }).controller.current()).toBe(3);
  });

  describe('grows by one per window', () => {
    it('when all slots are busy and more work waits than is in flight', () => {
      const { controller, poll, changes } = setup();
      // Within the window nothing changes, however many polls.
      for (let i = 0; i < 9; i++) poll(500, { attempts: { ok: 10 } });
      expect(controller.current()).toBe(4);
      expect(poll(500, { attempts: { ok: 10 } })).toBe(5);
      expect(changes).toEqual([{ from: 4, to: 5, reason: 'backlog' }]);
      expect(poll(WINDOW)).toBe(6);
    });

    it('up to max, never beyond', () => {
      const { busyWindows } = setup({ max: 7 });
      expect(busyWindows(3)).toBe(7);
      expect(busyWindows(5)).toBe(7);
    });

    it('not when the queue holds no more than this replica has in flight', () => {
      const { poll, controller } = setup();
      poll(WINDOW, { queueDepth: 4, attempts: { ok: 50 } });
      expect(controller.current()).toBe(4);
    });

    it('not when a slot stayed free all window', () => {
      const { poll, controller } = setup();
      poll(WINDOW / 2, { inFlight: 3 });
      poll(WINDOW / 2, { inFlight: 2, attempts: { ok: 50 } });
      expect(controller.current()).toBe(4);
    });

    it('not when 2 % or more of the attempts failed', () => {
      const { poll, controller } = setup();
      poll(WINDOW, { attempts: { ok: 49, failed: 1 } });
      expect(controller.current()).toBe(4);
      // 1 of 100 (1 %) is still growth.
      poll(WINDOW, { attempts: { ok: 99, failed: 1 } });
      expect(controller.current()).toBe(5);
    });

    it('not when memory is at 80 % of the limit or more', () => {
      const { poll, controller } = setup();
      poll(WINDOW, { rssBytes: 800 * MiB, attempts: { ok: 50 } });
      expect(controller.current()).toBe(4);
      poll(WINDOW, { rssBytes: 799 * MiB, attempts: { ok: 50 } });
      expect(controller.current()).toBe(5);
    });

    it("against V8's heap limit when no memory limit is configured", () => {
      const { poll, controller } = setup({ memoryLimitBytes: undefined });
      poll(WINDOW, {
        rssBytes: 850 * MiB,
        heapLimitBytes: 1000 * MiB,
        attempts: { ok: 50 },
      });
      expect(controller.current()).toBe(4);
      poll(WINDOW, {
        rssBytes: 850 * MiB,
        heapLimitBytes: 2000 * MiB,
        attempts: { ok: 50 },
      });
      expect(controller.current()).toBe(5);
    });
  });

  describe('halves', () => {
    it('at once when an attempt was throttled, then holds for a window', () => {
      const { controller, poll, busyWindows, changes } = setup();
      expect(busyWindows(4)).toBe(8);
      // Mid-window: no need to wait for its end.
      expect(poll(100, { attempts: { ok: 5, throttled: 1 } })).toBe(4);
      expect(changes.at(-1)).toEqual({ from: 8, to: 4, reason: 'throttled' });
      // Items that started under the old limit are still throttled: no
      // second halving within the window.
      expect(poll(1000, { attempts: { throttled: 3 } })).toBe(4);
      expect(poll(WINDOW - 1000 - 1, {})).toBe(4);
      // Throttling went on through the window: halve again.
      expect(poll(1, {})).toBe(2);
      // A clean window after a halving grows again, by one.
      expect(poll(WINDOW, { attempts: { ok: 50 } })).toBe(3);
      expect(controller.current()).toBe(3);
    });

    it('never below min', () => {
      const { poll, controller } = setup({ min: 3, initial: 5 });
      poll(1, { attempts: { throttled: 1 } });
      expect(controller.current()).toBe(3);
      poll(WINDOW, { attempts: { throttled: 1 } });
      expect(controller.current()).toBe(3);
    });

    it('when memory reaches 90 % of the limit', () => {
      const { poll, busyWindows, changes } = setup({ initial: 10 });
      expect(busyWindows(1)).toBe(11);
      expect(poll(10, { rssBytes: 900 * MiB })).toBe(5);
      expect(changes.at(-1)).toEqual({ from: 11, to: 5, reason: 'memory' });
      // Between 80 % and 90 %: neither halves nor grows.
      expect(poll(WINDOW, { rssBytes: 850 * MiB, attempts: { ok: 50 } })).toBe(
        5,
      );
      // Pressure that lasts halves once per window.
      expect(poll(10, { rssBytes: 950 * MiB })).toBe(2);
      expect(poll(10, { rssBytes: 950 * MiB })).toBe(2);
      expect(poll(WINDOW, { rssBytes: 950 * MiB })).toBe(1);
    });

    it('not for errors other than throttling', () => {
      const { poll, controller } = setup({ initial: 8 });
      poll(WINDOW, { attempts: { ok: 10, failed: 10 } });
      expect(controller.current()).toBe(8);
    });
  });

  describe('shrinks by one per window when idle', () => {
    it('nothing waits and a slot stayed free', () => {
      const { poll, controller, changes } = setup({ initial: 3 });
      poll(WINDOW, { queueDepth: 0, inFlight: 0 });
      expect(controller.current()).toBe(2);
      expect(changes).toEqual([{ from: 3, to: 2, reason: 'idle' }]);
      poll(WINDOW, { queueDepth: 0, inFlight: 0 });
      poll(WINDOW, { queueDepth: 0, inFlight: 0 });
      expect(controller.current()).toBe(1);
    });

    it('not while every slot is busy with items already claimed', () => {
      const { poll, controller } = setup({ initial: 3 });
      poll(WINDOW, { queueDepth: 0, inFlight: 3 });
      expect(controller.current()).toBe(3);
    });

    it('never below min', () => {
      const { poll, controller } = setup({ min: 2, initial: 2 });
      poll(WINDOW, { queueDepth: 0, inFlight: 0 });
      expect(controller.current()).toBe(2);
    });
  });

  it('is fixed when min = max', () => {
    const { poll, busyWindows, controller } = setup({
      min: 6,
      max: 6,
      initial: 6,
    });
    expect(busyWindows(3)).toBe(6);
    poll(1, { attempts: { throttled: 5 }, rssBytes: 990 * MiB });
    poll(WINDOW, { queueDepth: 0, inFlight: 0 });
    expect(controller.current()).toBe(6);
  });

  it('takes differences of the totals, and a lower total as a new base', () => {
    const o = {
      queueDepth: 100,
      inFlight: 4,
      rssBytes: 0,
      completed: 100,
      failed: 0,
      throttled: 0,
    };
    let now = 0;
    const c = new AdaptiveConcurrency(
      { min: 1, max: 16, initial: 4 },
      { now: () => now },
    );
    c.observe({ ...o, throttled: 7 }); // throttled before: halves
    expect(c.current()).toBe(2);
    now += WINDOW;
    // The same total again is no new throttling; a total that went down
    // (a restarted loop) is not either.
    c.observe({ ...o, inFlight: 2, throttled: 7 });
    expect(c.current()).toBe(3);
    now += WINDOW;
    c.observe({ ...o, inFlight: 3, throttled: 2 });
    expect(c.current()).toBe(4);
  });

  it('refuses limits it cannot keep', () => {
    expect(
      () => new AdaptiveConcurrency({ min: 0, max: 4, initial: 1 }),
    ).toThrow(/1 ≤ min ≤ max/);
    expect(
      () => new AdaptiveConcurrency({ min: 5, max: 4, initial: 4 }),
    ).toThrow(/1 ≤ min ≤ max/);
  });
});

describe('readConcurrencyLimits', () => {
  const read = (workers?: object) =>
    readConcurrencyLimits(
      new ConfigReader({ datasetMigration: { workers } }).getOptionalConfig(
        'datasetMigration',
      ),
    );

  it('defaults to 1 … 16, starting at 4', () => {
    expect(read()).toEqual({
      min: 1,
      max: 16,
      initial: 4,
      memoryLimitBytes: undefined,
    });
    expect(readConcurrencyLimits(undefined)).toMatchObject({
      min: 1,
      max: 16,
      initial: 4,
    });
  });

  it('keeps workers.concurrency as the start and, without max, the ceiling', () => {
    expect(read({ concurrency: 8 })).toMatchObject({
      min: 1,
      max: 8,
      initial: 8,
    });
    expect(read({ concurrency: 8, maxConcurrency: 32 })).toMatchObject({
      max: 32,
      initial: 8,
    });
    expect(
      read({ concurrency: 8, minConcurrency: 8, maxConcurrency: 8 }),
    ).toMatchObject({ min: 8, max: 8, initial: 8 });
    // A start outside the range is moved into it.
    expect(read({ concurrency: 2, minConcurrency: 3 })).toMatchObject({
      min: 3,
      max: 3,
      initial: 3,
    });
    expect(read({ minConcurrency: 20 })).toMatchObject({
      min: 20,
      max: 20,
      initial: 20,
    });
  });

  it('reads the memory limit in MiB', () => {
    expect(read({ memoryLimitMiB: 512 }).memoryLimitBytes).toBe(512 * MiB);
  });

  it.each([
    [{ minConcurrency: 0 }, /minConcurrency must be an integer ≥ 1/],
    [{ maxConcurrency: 2.5 }, /maxConcurrency must be an integer ≥ 1/],
    [{ concurrency: -1 }, /concurrency must be an integer ≥ 1/],
    [{ minConcurrency: 9, maxConcurrency: 4 }, /exceeds/],
    [{ memoryLimitMiB: 0 }, /memoryLimitMiB must be a positive number/],
  ])('refuses %p', (workers, message) => {
    expect(() => read(workers)).toThrow(message);
  });
});

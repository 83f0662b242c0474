import {
  LimiterClock,
  RequestRateLimiter,
  ScopedRateLimiters,
} from './rateLimiter';

/** A clock that only moves when a sleeper asks it to. */
function fakeClock(): LimiterClock & { slept: number[] } {
  let now = 1_000_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async ms => {
      slept.push(ms);
      now += ms;
    },
  };
}

/** Counts how many requests pass within `windowMs` of fake time. */
async function requestsIn(
  limiter: RequestRateLimiter,
  clock: LimiterClock,
  windowMs: number,
) {
  const start = clock.now();
  let count = 0;
  while (clock.now() - start < windowMs) {
    await limiter.acquire();
    if (clock.now() - start < windowMs) {
      count++;
    }
  }
  return count;
}

describe('RequestRateLimiter', () => {
  it('lets a burst through and then spaces requests evenly', async () => {
    const clock = fakeClock();
    const limiter = new RequestRateLimiter({
      maxPerSecond: 10,
      burst: 5,
      clock,
    });
    for (let i = 0; i < 5; i++) {
      await limiter.acquire();
    }
    expect(clock.slept).toEqual([]);
    await limiter.acquire();
    await limiter.acquire();
    expect(clock.slept).toEqual([100, 100]);
  });

  it('holds the configured rate over time', async () => {
    const clock = fakeClock();
    const limiter = new RequestRateLimiter({ maxPerSecond: 50, clock });
    // one second of burst, then 50/s
    const count = await requestsIn(limiter, clock, 10_000);
    expect(count).toBeGreaterThanOrEqual(545);
    expect(count).toBeLessThanOrEqual(551);
  });

  it('serves concurrent waiters in order at the rate', async () => {
    const clock = fakeClock();
    const limiter = new RequestRateLimiter({
      maxPerSecond: 4,
      burst: 1,
      clock,
    });
    const order: number[] = [];
    const start = clock.now();
    await Promise.all(
      [0, 1, 2, 3].map(i => limiter.acquire().then(() => order.push(i))),
    );
    expect(order).toEqual([0, 1, 2, 3]);
    // the fake clock jumps on every sleep, so the slots add up: 0, 250, 500, 750
    expect(clock.now() - start).toBe(750);
  });

  it('ramps: starts low and doubles every period up to the ceiling', async () => {
    const clock = fakeClock();
    const limiter = new RequestRateLimiter({
      initialPerSecond: 100,
      maxPerSecond: 350,
      rampDoublingMinutes: 20,
      clock,
    });
    await limiter.acquire();
    const t0 = clock.now();
    expect(limiter.currentRate(t0)).toBe(100);
    expect(limiter.currentRate(t0 + 19 * 60_000)).toBe(100);
    expect(limiter.currentRate(t0 + 20 * 60_000)).toBe(200);
    expect(limiter.currentRate(t0 + 40 * 60_000)).toBe(350);
    expect(limiter.currentRate(t0 + 10_000 * 60_000)).toBe(350);

    // measured throughput follows the ramp
    const first = await requestsIn(limiter, clock, 60_000);
    expect(first / 60).toBeLessThan(103);
    clock.sleep(40 * 60_000);
    const later = await requestsIn(limiter, clock, 60_000);
    expect(later / 60).toBeGreaterThan(345);
    expect(later / 60).toBeLessThan(360);
  });

  it('stops waiting when the signal aborts', async () => {
    const limiter = new RequestRateLimiter({ maxPerSecond: 1, burst: 1 });
    await limiter.acquire();
    const controller = new AbortController();
    const pending = limiter.acquire(controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(pending).rejects.toThrow('cancelled');
  });

  it('refuses nonsense rates', () => {
    expect(() => new RequestRateLimiter({ maxPerSecond: 0 })).toThrow(
      /maxPerSecond/,
    );
  });
});

describe('ScopedRateLimiters', () => {
  it('shares one limiter per scope and direction', () => {
    const limiters = new ScopedRateLimiters({
      maxWritesPerSecond: 10,
      maxReadsPerSecond: 20,
    });
    expect(limiters.get('bucket-a', 'write')).toBe(
      limiters.get('bucket-a', 'write'),
    );
    expect(limiters.get('bucket-a', 'write')).not.toBe(
      limiters.get('bucket-a', 'read'),
    );
    expect(limiters.get('bucket-a', 'write')).not.toBe(
      limiters.get('bucket-b', 'write'),
    );
  });
});

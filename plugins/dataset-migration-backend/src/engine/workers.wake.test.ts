import { mockServices } from '@backstage/backend-test-utils';
import type { EngineContext, StoreCache } from './context';
import { WorkerPool } from './workers';

/**
 * The loop's wake-ups (stop, nudge, a finished batch) must not be lost when
 * they arrive while the loop awaits the database: with a long poll interval
 * a lost wake-up held stop() for the whole interval.
 */
describe('WorkerPool wake-ups', () => {
  function pool() {
    const claims: Array<(items: []) => void> = [];
    let driverPolls = 0;
    const ctx = {
      workerId: 'w1',
      logger: mockServices.logger.mock(),
      signal: new AbortController().signal,
      config: {
        // Far beyond any wait in this test: only wake-ups move the loop.
        pollIntervalMs: 600_000,
        leaseMs: 30_000,
        concurrencyLimits: { min: 1, max: 1, initial: 1 },
        batch: { maxObjects: 8, maxBytes: 1 << 20 },
      },
      stores: {
        fleet: {
          heartbeat: async () => {},
          remove: async () => {},
        },
        items: {
          claim: () => new Promise<[]>(resolve => claims.push(resolve)),
        },
        parts: {
          anyClaimable: async () => false,
          claim: async () => [],
        },
        migrations: {
          claimDriver: async () => {
            driverPolls += 1;
            return [];
          },
        },
      },
    } as unknown as EngineContext;
    const workers = new WorkerPool(ctx, {} as StoreCache);
    return { workers, claims, driverPolls: () => driverPolls };
  }

  async function until(check: () => boolean) {
    const deadline = Date.now() + 5_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise(r => setTimeout(r, 5));
    }
  }

  it('stops at once when stopped while the loop awaits a claim', async () => {
    const { workers, claims } = pool();
    workers.start();
    await until(() => claims.length === 1);
    const stopped = workers.stop(false);
    claims[0]([]);
    const t0 = Date.now();
    await stopped;
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('starts the next turn at once after a nudge that came during a claim', async () => {
    const { workers, claims, driverPolls } = pool();
    workers.start();
    await until(() => claims.length === 1);
    // The first turn polls the drivers on the clock, then sleeps.
    claims[0]([]);
    await until(() => driverPolls() === 1);
    workers.nudge();
    await until(() => claims.length === 2);
    // Nudged again while the second turn awaits its claim: that turn polls
    // the drivers for the first nudge, and the second one skips its sleep.
    workers.nudge();
    claims[1]([]);
    await until(() => driverPolls() === 2);
    await until(() => claims.length === 3);
    expect(driverPolls()).toBe(2);
    const stopped = workers.stop(false);
    claims[2]([]);
    await stopped;
  });
});

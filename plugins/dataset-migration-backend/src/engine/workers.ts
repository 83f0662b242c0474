import { isRetryableError } from '@internal/backstage-plugin-dataset-migration-node';
import type { WorkItem } from '../database/WorkItemStore';
import { backoffDelay } from './backoff';
import { copyItem } from './copy';
import { AbandonedError, EngineContext, StoreCache } from './context';
import { DRIVEN_STATES, driveMigration } from './driver';
import { ItemContext, LeaseLostError } from './itemContext';
import { rollbackItem } from './rollback';
import { validateItem } from './validate';
import { isDataKey, targetKeyOf } from '../transform/planTransform';

const STAGES = {
  copy: copyItem,
  validate: validateItem,
  rollback: rollbackItem,
};
const MAX_DRIVERS = 2;

function errorMessage(e: unknown) {
  if (e instanceof Error) {
    const code = (e as { code?: string }).code;
    return code && !e.message.includes(code)
      ? `${code}: ${e.message}`
      : e.message;
  }
  return String(e);
}

/**
 * This replica's share of the fleet: a poll loop that claims migration-level
 * stages ("drivers") and work items with leases, processes up to
 * `concurrency` items at once and heartbeats their leases.
 */
export class WorkerPool {
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  /**
   * Set when this replica finished the last item it held of a migration:
   * that migration's stage may be complete, so its driver is polled at
   * once instead of on the next tick of the clock.
   */
  private driverPollDue = false;
  /** Set by {@link nudge}: poll the drivers on the next turn of the loop. */
  private nudged = false;
  private readonly inFlight = new Map<number, Promise<void>>();
  /** The migration of each item in flight. */
  private readonly itemMigration = new Map<number, string>();
  private readonly drivers = new Map<string, Promise<void>>();
  constructor(
    private readonly ctx: EngineContext,
    /** The engine's cache, whose stores carry the stall timeouts. */
    private readonly cache: StoreCache,
  ) {}

  start() {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /**
   * A migration of this process changed state (approved, rolled back,
   * retried): poll the drivers now rather than on the next tick. Other
   * replicas see it on their clock.
   */
  nudge() {
    this.nudged = true;
    this.wake?.();
  }

  /** Stops claiming; waits for in-flight work unless abandoning. */
  async stop(abandon: boolean) {
    this.running = false;
    this.wake?.();
    if (abandon) return;
    await this.loop;
    await Promise.allSettled([
      ...this.inFlight.values(),
      ...this.drivers.values(),
    ]);
    await this.ctx.stores.fleet
      .remove(this.ctx.workerId)
      .catch(
        this.survive(
          `Could not record that replica ${this.ctx.workerId} stopped`,
        ),
      );
  }

  /**
   * A handler for a failed lease or bookkeeping call that must not stop the
   * work (heartbeats, releases, reclaim events): it logs what failed at
   * warn, as a lost lease or a stale fleet row starts there; at debug once
   * this replica is abandoning its work, when such failures are expected.
   * Store errors are database errors: they carry no storage credentials.
   */
  private survive(what: string) {
    return (e: unknown) => {
      const message = `${what}: ${errorMessage(e)}`;
      if (this.ctx.signal.aborted) this.ctx.logger.debug(message);
      else this.ctx.logger.warn(message);
    };
  }

  private async run() {
    const { stores, config, workerId, logger } = this.ctx;
    let lastDriverPoll = 0;
    while (this.running && !this.ctx.signal.aborted) {
      try {
        const onTheClock = Date.now() - lastDriverPoll >= config.pollIntervalMs;
        if (onTheClock) {
          lastDriverPoll = Date.now();
          await stores.fleet.heartbeat(workerId, this.inFlight.size);
        }
        let drained = false;
        const free = config.concurrency - this.inFlight.size;
        if (free > 0 && this.running) {
          const items = await stores.items.claim(
            workerId,
            config.leaseMs,
            free,
          );
          drained = items.length < free;
          for (const item of items) {
            this.itemMigration.set(item.id, item.migrationId);
            this.track(this.inFlight, item.id, this.process(item), true);
          }
        }
        // Drivers are polled on the clock, and early when this replica has
        // finished its last item of a migration and the queue has nothing
        // more to give: that stage may be complete. Re-checking every
        // migration's stage after each item would be wasted queries.
        const pollDrivers =
          onTheClock || this.nudged || (this.driverPollDue && drained);
        if (pollDrivers && this.running && this.drivers.size < MAX_DRIVERS) {
          this.driverPollDue = false;
          this.nudged = false;
          const claimed = await stores.migrations.claimDriver(
            workerId,
            config.leaseMs,
            [...DRIVEN_STATES],
            MAX_DRIVERS - this.drivers.size,
          );
          // A driver that returns has moved its stage on (or had nothing
          // to do): new items may be claimable, so it wakes the loop.
          for (const m of claimed)
            this.track(this.drivers, m.id, this.drive(m), true);
        }
      } catch (e) {
        if (this.ctx.signal.aborted) return;
        logger.warn(`Dataset migration worker poll failed: ${errorMessage(e)}`);
      }
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, config.pollIntervalMs);
        this.wake = () => {
          clearTimeout(timer);
          // better-sqlite3 answers synchronously, so without a macrotask
          // hop a busy loop would starve timers and file I/O.
          setImmediate(resolve);
        };
      });
    }
  }

  private track<K>(
    map: Map<K, Promise<void>>,
    key: K,
    work: Promise<void>,
    wake: boolean,
  ) {
    map.set(key, work);
    work.finally(() => {
      map.delete(key);
      if (map === this.inFlight) this.itemFinished(key as number);
      if (wake) this.wake?.();
    });
  }

  private itemFinished(itemId: number) {
    const migrationId = this.itemMigration.get(itemId);
    this.itemMigration.delete(itemId);
    if (![...this.itemMigration.values()].includes(migrationId!)) {
      this.driverPollDue = true;
    }
  }

  private async drive(
    m: Parameters<typeof driveMigration>[2] & { previousDriver?: string },
  ) {
    const { stores, workerId, config } = this.ctx;
    if (m.previousDriver) {
      await this.recordReclaim(m.id, 'driver-reclaimed', {
        message: `Replica ${workerId} took over the ${
          m.phase ?? m.state
        } stage from ${m.previousDriver}, whose lease expired`,
        details: { from: m.previousDriver, to: workerId, phase: m.phase },
      });
    }
    const timer = setInterval(() => {
      if (this.ctx.signal.aborted) return;
      stores.migrations
        .heartbeatDriver(m.id, workerId, config.leaseMs)
        .catch(
          this.survive(
            `Could not extend the driver lease of migration ${m.id}; another replica may take over when it expires`,
          ),
        );
    }, config.leaseMs / 3);
    try {
      await driveMigration(this.ctx, this.cache, m);
    } catch (e) {
      if (!(e instanceof AbandonedError)) {
        this.ctx.logger.error(
          `Dataset migration ${m.id} driver failed: ${errorMessage(e)}`,
        );
      }
    } finally {
      clearInterval(timer);
      if (!this.ctx.signal.aborted) {
        await stores.migrations
          .releaseDriver(m.id, workerId)
          .catch(
            this.survive(
              `Could not release the driver lease of migration ${m.id}; it is free again when it expires`,
            ),
          );
      }
    }
  }

  /**
   * A lease that expired and was taken over is worth an event: it is how a
   * dead replica shows in a migration's log (never fails the work).
   */
  private async recordReclaim(
    migrationId: string,
    type: 'lease-reclaimed' | 'driver-reclaimed',
    event: { message: string; details: Record<string, unknown> },
  ) {
    await this.ctx.stores.events
      .append({ migrationId, type, level: 'warn', ...event })
      .catch(
        this.survive(
          `Could not record a ${type} event of migration ${migrationId}`,
        ),
      );
  }

  private async process(item: WorkItem) {
    const { stores, workerId, config } = this.ctx;
    if (item.reclaimedFrom) {
      await this.recordReclaim(item.migrationId, 'lease-reclaimed', {
        message: `Replica ${workerId} took over ${item.stage} of '${item.key}' from ${item.reclaimedFrom}, whose lease expired`,
        details: {
          key: item.key,
          stage: item.stage,
          from: item.reclaimedFrom,
          to: workerId,
        },
      });
    }
    const timer = setInterval(() => {
      if (this.ctx.signal.aborted) return;
      stores.items
        .heartbeat([item.id], workerId, config.leaseMs)
        .catch(
          this.survive(
            `Could not extend the lease on ${item.stage} of '${item.key}' (migration ${item.migrationId}); another replica may take it over when it expires`,
          ),
        );
    }, config.leaseMs / 3);
    try {
      const opened = await this.cache.getById(item.migrationId, () =>
        stores.migrations.get(item.migrationId),
      );
      if (!opened) return;
      const transform = opened.plan?.transform;
      const rewrites =
        transform && isDataKey(item.key, transform.sourceFormat)
          ? transform
          : undefined;
      const itemCtx: ItemContext = {
        item,
        ...opened,
        targetKey: rewrites
          ? targetKeyOf(item.key, rewrites.sourceFormat, rewrites.targetFormat)
          : item.key,
        transform: rewrites,
        transforms: this.ctx.transforms,
        signal: this.ctx.signal,
        save: async patch => {
          this.ctx.assertAlive();
          if (!(await stores.items.update(item, workerId, patch))) {
            throw new LeaseLostError(`Lost the lease on '${item.key}'`);
          }
          if (patch.hadOriginal !== undefined)
            item.hadOriginal = patch.hadOriginal;
        },
      };
      await STAGES[item.stage](itemCtx);
    } catch (e) {
      if (
        e instanceof AbandonedError ||
        e instanceof LeaseLostError ||
        this.ctx.signal.aborted
      ) {
        return;
      }
      await this.failOrRetry(item, e).catch(err =>
        this.ctx.logger.warn(
          `Could not record failure of '${item.key}': ${errorMessage(err)}`,
        ),
      );
    } finally {
      clearInterval(timer);
    }
  }

  private async failOrRetry(item: WorkItem, e: unknown) {
    const { stores, workerId, config } = this.ctx;
    const attempts = item.attempts + 1;
    const reason = errorMessage(e);
    // Rollback must converge, so its errors are always retried (capped delay).
    const retry =
      item.stage === 'rollback' ||
      (isRetryableError(e) && attempts < config.retry.maxAttempts);
    if (retry) {
      const delay = backoffDelay(attempts, config.retry);
      if (
        !(await stores.items.update(item, workerId, {
          state: 'pending',
          attempts,
          notBefore: Date.now() + delay,
          lastError: reason,
        }))
      )
        return;
      await stores.events.append({
        migrationId: item.migrationId,
        type: 'item-retry',
        level: 'warn',
        message: `Retrying ${item.stage} of '${
          item.key
        }' in ${delay} ms (attempt ${attempts}${
          item.stage === 'rollback' ? '' : ` of ${config.retry.maxAttempts}`
        }): ${reason}`,
        details: {
          key: item.key,
          stage: item.stage,
          attempt: attempts,
          delayMs: delay,
        },
      });
      return;
    }
    if (
      !(await stores.items.update(item, workerId, {
        state: 'failed',
        attempts,
        lastError: reason,
      }))
    )
      return;
    await stores.events.append({
      migrationId: item.migrationId,
      type: 'item-failed',
      level: 'error',
      message: `${item.stage} of '${item.key}' failed${
        isRetryableError(e) ? ` after ${attempts} attempts` : ' (not retryable)'
      }: ${reason}`,
      details: { key: item.key, stage: item.stage, attempts },
    });
  }
}

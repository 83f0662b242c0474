import type { DriverTakeover } from '../database/MigrationStore';
import type { WorkItem } from '../database/WorkItemStore';
import type { ClaimedPart } from '../database/PartStore';
import { writeClaimedPart } from './claimedParts';
import { AbandonedError, EngineContext, StoreCache } from './context';
import { DRIVEN_STATES, driveMigration } from './driver';
import v8 from 'node:v8';
import { isThrottlingError } from '@internal/backstage-plugin-dataset-migration-node';
import { AdaptiveConcurrency, DEFAULT_WINDOW_MS } from './adaptiveConcurrency';
import { ItemBatch } from './itemBatch';
import { errorMessage } from './itemContext';
import { takeoverDetails, takeoverText } from './takeovers';
import { packLanes } from './packLanes';

const MAX_DRIVERS = 2;

/**
 * This replica's share of the fleet: a poll loop that claims migration-level
 * stages ("drivers") and work items with leases. `concurrency` worker lanes
 * each take a batch of claimed items (bounded by count and bytes) and work
 * through it, heartbeating its leases and recording its results per batch
 * (itemBatch.ts).
 */
export class WorkerPool {
  private running = false;
  private loop?: Promise<void>;
  /** Ends the loop's current sleep, if it is sleeping. */
  private wakeSleeper?: () => void;
  /**
   * A wake-up that came while the loop was busy (claiming, polling drivers):
   * the next sleep is skipped instead of the wake-up being lost until the
   * clock's next tick, which with a long poll interval also held up stop().
   */
  private wakePending = false;
  /**
   * Set when this replica finished the last item it held of a migration:
   * that migration's stage may be complete, so its driver is polled at
   * once instead of on the next tick of the clock.
   */
  private driverPollDue = false;
  /** Set when parts of a large object may be claimable now. */
  private partsWaiting = false;
  /** Set by {@link nudge}: poll the drivers on the next turn of the loop. */
  private nudged = false;
  /** How many times {@link nudge} was called: lanes re-check their migrations. */
  private changes = 0;
  /** The batches being processed, one per busy lane. */
  private readonly inFlight = new Map<number, Promise<void>>();
  private nextLane = 0;
  /** The migration of each item this replica holds. */
  private readonly itemMigration = new Map<number, string>();
  /** The items of each busy lane. */
  private readonly laneItems = new Map<number, WorkItem[]>();
  private readonly drivers = new Map<string, Promise<void>>();
  /** Item attempts since start, for adaptive concurrency. */
  private readonly attempts = { completed: 0, failed: 0, throttled: 0 };
  private queueDepth = 0;
  private queueReadAt = 0;
  /** How many lanes this replica runs now (adaptiveConcurrency.ts). */
  private readonly lanes: AdaptiveConcurrency;
  constructor(
    private readonly ctx: EngineContext,
    /** The engine's cache, whose stores carry the stall timeouts. */
    private readonly cache: StoreCache,
  ) {
    this.lanes = new AdaptiveConcurrency(ctx.config.concurrencyLimits, {
      onChange: c =>
        ctx.logger.info(
          `Dataset migration worker lanes ${c.from} → ${c.to} (${c.reason})`,
        ),
    });
  }

  /** How many worker lanes this replica runs now. */
  get concurrency(): number {
    return this.lanes.current();
  }

  /**
   * Feeds adaptive concurrency: the fleet's queue depth (read at most once
   * per decision window), this replica's busy lanes, attempts and memory.
   */
  private async observeLoad() {
    const { config, stores } = this.ctx;
    const { min, max } = config.concurrencyLimits;
    if (min === max) return;
    if (Date.now() - this.queueReadAt >= DEFAULT_WINDOW_MS) {
      this.queueReadAt = Date.now();
      const depth = await stores.metrics.queueDepth();
      this.queueDepth = Object.values(depth).reduce((a, b) => a + b, 0);
    }
    this.lanes.observe({
      queueDepth: this.queueDepth,
      inFlight: this.inFlight.size,
      ...this.attempts,
      rssBytes: process.memoryUsage.rss(),
      heapLimitBytes: v8.getHeapStatistics().heap_size_limit,
    });
  }

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
    this.changes += 1;
    this.wake();
  }

  /** Stops claiming; waits for in-flight work unless abandoning. */
  async stop(abandon: boolean) {
    this.running = false;
    this.wake();
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
          await stores.fleet.heartbeat(workerId, this.itemMigration.size);
        }
        let drained = false;
        await this.observeLoad();
        let free = this.lanes.current() - this.inFlight.size;
        if (free > 0 && this.running) {
          // One claim fills every free lane: up to a batch each, by count
          // and bytes, and at least one item per lane.
          const items = await stores.items.claim(
            workerId,
            config.leaseMs,
            free * config.batch.maxObjects,
            { maxBytes: free * config.batch.maxBytes, minItems: free },
          );
          drained = items.length < free;
          for (const batch of packLanes(items, free)) {
            const lane = this.nextLane++;
            for (const item of batch)
              this.itemMigration.set(item.id, item.migrationId);
            this.laneItems.set(lane, batch);
            this.track(this.inFlight, lane, this.process(batch), true);
            free -= 1;
          }
        }
        // Lanes the items left idle write parts of large objects. Parts are
        // looked for when this replica created some, and on the clock
        // (another replica's, or retried ones), not on every turn.
        if (
          free > 0 &&
          this.running &&
          (this.partsWaiting ||
            (onTheClock && (await stores.parts.anyClaimable())))
        ) {
          this.partsWaiting = false;
          const parts = await stores.parts.claim(
            workerId,
            config.leaseMs,
            free,
          );
          // A full claim may have left more: look again on the next turn.
          if (parts.length === free) this.partsWaiting = true;
          for (const part of parts) {
            this.track(
              this.inFlight,
              this.nextLane++,
              this.processPart(part),
              true,
            );
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
      await this.sleep(config.pollIntervalMs);
    }
  }

  /** Wakes the loop now, or makes its next sleep return at once. */
  private wake() {
    this.wakePending = true;
    this.wakeSleeper?.();
  }

  private sleep(ms: number) {
    return new Promise<void>(resolve => {
      const end = () => {
        this.wakeSleeper = undefined;
        this.wakePending = false;
        // better-sqlite3 answers synchronously, so without a macrotask
        // hop a busy loop would starve timers and file I/O.
        setImmediate(resolve);
      };
      if (this.wakePending || !this.running) {
        end();
        return;
      }
      const timer = setTimeout(end, ms);
      this.wakeSleeper = () => {
        clearTimeout(timer);
        end();
      };
    });
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
      if (map === this.inFlight) this.batchFinished(key as number);
      if (wake) this.wake();
    });
  }

  private batchFinished(lane: number) {
    const items = this.laneItems.get(lane) ?? [];
    this.laneItems.delete(lane);
    for (const item of items) this.itemMigration.delete(item.id);
    const held = new Set(this.itemMigration.values());
    if (items.some(item => !held.has(item.migrationId))) {
      this.driverPollDue = true;
    }
  }

  private async drive(
    m: Parameters<typeof driveMigration>[2] & DriverTakeover,
  ) {
    const { stores, workerId, config } = this.ctx;
    if (m.previousDriver) {
      await this.recordReclaim(m.id, 'driver-reclaimed', {
        message: `Replica ${workerId} took over the ${
          m.phase ?? m.state
        } stage from ${m.previousDriver}, ${takeoverText(m.takeover)}`,
        details: {
          from: m.previousDriver,
          to: workerId,
          phase: m.phase,
          ...takeoverDetails(m.takeover),
        },
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

  /** One lane writes one part of a large object (claimedParts.ts). */
  private async processPart(part: ClaimedPart) {
    const { workerId } = this.ctx;
    const attempted = await writeClaimedPart(this.ctx, this.cache, part, () =>
      this.recordReclaim(part.migrationId, 'lease-reclaimed', {
        message: `Replica ${workerId} took over part ${part.number} of '${part.key}' from ${part.reclaimedFrom}, whose lease expired`,
        details: {
          key: part.key,
          part: part.number,
          stage: 'copy',
          from: part.reclaimedFrom,
          to: workerId,
        },
      }),
    );
    if (attempted) this.attempts.completed += 1;
  }

  private async process(items: WorkItem[]) {
    const { workerId } = this.ctx;
    const batch = new ItemBatch(this.ctx, this.cache, items, {
      reclaimed: item =>
        this.recordReclaim(item.migrationId, 'lease-reclaimed', {
          message: `Replica ${workerId} took over ${item.stage} of '${
            item.key
          }' from ${item.reclaimedFrom}, ${takeoverText(item.takeover)}`,
          details: {
            key: item.key,
            stage: item.stage,
            from: item.reclaimedFrom,
            to: workerId,
            ...takeoverDetails(item.takeover),
          },
        }),
      survive: what => this.survive(what),
      changes: () => this.changes,
      partsCreated: () => {
        this.partsWaiting = true;
        this.wake();
      },
      attemptEnded: error => {
        this.attempts.completed += 1;
        if (error !== undefined) this.attempts.failed += 1;
        if (error !== undefined && isThrottlingError(error))
          this.attempts.throttled += 1;
      },
    });
    await batch.run().catch(e => {
      if (e instanceof AbandonedError || this.ctx.signal.aborted) return;
      // Unrecorded items keep their leases until they expire, and are
      // redone by whichever replica claims them then.
      this.ctx.logger.warn(
        `Could not record the results of ${
          items.length
        } work item(s): ${errorMessage(e)}`,
      );
    });
  }
}

import { Knex } from 'knex';
import type { FleetStatus } from '@internal/backstage-plugin-dataset-migration-common';
import { dbNow, readDbNow } from './clock';
import { MetricsStore } from './MetricsStore';
import { DbBigInt, DbCount, DbWrite, num } from './rowValues';

/** A `dm_workers` row (one per replica) as the database returns it. */
export interface DbWorkerRow {
  id: string;
  last_seen_at: DbBigInt;
  in_flight: number;
  /** First heartbeat; null on rows written before it was recorded. */
  started_at: DbBigInt | null;
  /** Set by a graceful stop; null while the replica runs. */
  stopped_at: DbBigInt | null;
}

/**
 * How long a replica that stopped heart-beating stays listed as `gone`
 * before its row is pruned.
 */
export const GONE_RETENTION_MS = 60 * 60_000;

/** The window of `GET /fleet`'s throughput and error rate. */
export const THROUGHPUT_WINDOW_MS = 60_000;

/** Worker heartbeats and the queue-wide numbers behind `GET /fleet`. */
export class FleetStore {
  /** The queue-depth metric's own query, so GET /fleet and the gauge agree. */
  private readonly metrics: MetricsStore;

  constructor(private readonly knex: Knex) {
    this.metrics = new MetricsStore(knex);
  }

  /** Times are the database's (clock.ts), like the leases they sit beside. */
  async heartbeat(workerId: string, inFlight: number): Promise<void> {
    const now = dbNow(this.knex);
    const row: DbWrite<DbWorkerRow> = {
      id: workerId,
      last_seen_at: now,
      in_flight: inFlight,
      started_at: now,
      stopped_at: null,
    };
    await this.knex('dm_workers')
      .insert(row)
      .onConflict('id')
      .merge(['last_seen_at', 'in_flight', 'stopped_at']);
  }

  /** A graceful stop: the replica stays listed as `gone` for a while. */
  async remove(workerId: string): Promise<void> {
    await this.knex('dm_workers')
      .where('id', workerId)
      .update({ stopped_at: dbNow(this.knex), in_flight: 0 });
  }

  /**
   * `seenWithinMs`: a replica whose last heartbeat is older is `gone` (as is
   * one that stopped); gone replicas are listed for {@link GONE_RETENTION_MS}.
   * Every window and lease is on the database's clock (clock.ts).
   */
  async status(seenWithinMs: number): Promise<Omit<FleetStatus, 'migrations'>> {
    const now = await readDbNow(this.knex);
    await this.knex('dm_workers')
      .where('last_seen_at', '<', now - GONE_RETENTION_MS)
      .delete();
    const depth = await this.metrics.queueDepth();
    // Live leases per replica: the work each one holds right now.
    const leased: Array<{ lease_owner: string; n: DbCount }> = await this.knex(
      'dm_work_items',
    )
      .where('state', 'running')
      .where('lease_expires_at', '>=', now)
      .groupBy('lease_owner')
      .select('lease_owner')
      .count({ n: '*' });
    const leasesOf = new Map(leased.map(r => [r.lease_owner, num(r.n)]));
    const driving: Array<{ driver_owner: string; n: DbCount }> =
      await this.knex('dm_migrations')
        .whereNotNull('driver_owner')
        .where('driver_expires_at', '>=', now)
        .groupBy('driver_owner')
        .select('driver_owner')
        .count({ n: '*' });
    const drivesOf = new Map(driving.map(r => [r.driver_owner, num(r.n)]));
    const since = now - THROUGHPUT_WINDOW_MS;
    const [recent]: Array<{ items: DbCount; bytes: DbCount | null }> =
      await this.knex('dm_work_items')
        .where('copied_at', '>=', since)
        .count({ items: '*' })
        .sum({ bytes: 'size' });
    const copied = num(recent?.items);
    const errors = await this.copyErrors(since);
    const attempts = copied + errors.retried + errors.failed;
    const workers: DbWorkerRow[] = await this.knex('dm_workers').orderBy('id');
    return {
      queueDepth: Object.values(depth).reduce((a, b) => a + b, 0),
      inFlight: [...leasesOf.values()].reduce((a, b) => a + b, 0),
      workers: workers.map(w => {
        const gone =
          w.stopped_at !== null || num(w.last_seen_at) < now - seenWithinMs;
        return {
          id: w.id,
          lastSeenAt: new Date(num(w.last_seen_at)).toISOString(),
          inFlight: gone ? 0 : num(w.in_flight),
          state: gone ? 'gone' : 'active',
          ...(w.started_at !== null && w.started_at !== undefined
            ? { startedAt: new Date(num(w.started_at)).toISOString() }
            : {}),
          ...(w.stopped_at !== null && w.stopped_at !== undefined
            ? { stoppedAt: new Date(num(w.stopped_at)).toISOString() }
            : {}),
          leasedItems: leasesOf.get(w.id) ?? 0,
          drivenMigrations: drivesOf.get(w.id) ?? 0,
        };
      }),
      throughput: {
        itemsPerMinute: copied,
        bytesPerMinute: num(recent?.bytes),
      },
      errors: {
        ...errors,
        attempts,
        rate: attempts === 0 ? 0 : (errors.retried + errors.failed) / attempts,
      },
    };
  }

  /**
   * Copy attempts since `since` that ended in an error, from their
   * `item-retry` and `item-failed` events (`details.stage` is `copy`). An item
   * row keeps only its last attempt, so a retry whose next attempt already
   * ran is in the events only. The index `dm_events (type, created_at)` reads
   * only those events of the window, whatever the number of migrations.
   */
  private async copyErrors(
    since: number,
  ): Promise<{ retried: number; failed: number }> {
    const rows: Array<{ type: string; n: DbCount }> = await this.knex(
      'dm_events',
    )
      .whereIn('type', ['item-retry', 'item-failed'])
      .where('created_at', '>=', since)
      // details is the JSON.stringify of { key, stage, ... }: a quote in
      // the key is escaped, so only the stage property can match.
      .where('details', 'like', '%"stage":"copy"%')
      .groupBy('type')
      .select('type')
      .count({ n: '*' });
    const byType = new Map(rows.map(r => [r.type, num(r.n)]));
    return {
      retried: byType.get('item-retry') ?? 0,
      failed: byType.get('item-failed') ?? 0,
    };
  }
}

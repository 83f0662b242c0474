import { Knex } from 'knex';
import {
  FINAL_MIGRATION_STATES,
  type FleetStatus,
} from '@internal/backstage-plugin-dataset-migration-common';
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

/**
 * A final migration's events count towards the error rate while it changed
 * state this recently: the window plus room for the clock of the replica
 * that stamped `updated_at` (a copy step that fails on its last item's
 * failure ends right after that item's `item-failed` event).
 */
const RECENT_MIGRATION_MS = 10 * 60_000;

/** Worker heartbeats and the queue-wide numbers behind `GET /fleet`. */
export class FleetStore {
  constructor(private readonly knex: Knex) {}

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
    // The metric's query itself, so GET /fleet and the gauge cannot differ.
    const depth = await new MetricsStore(this.knex).queueDepth();
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
   * ran is in the events only. `dm_events` has no index on its time or type,
   * so the events are read per migration through `dm_events (migration_id,
   * id)`, only those of migrations that can have had item work in the
   * window: not final, or changed state lately ({@link RECENT_MIGRATION_MS}).
   * Correlated subqueries keep that plan on PostgreSQL: as a join, its
   * planner guesses from `created_at`'s statistics that few events are that
   * recent and scans the whole table for them.
   */
  private async copyErrors(
    since: number,
  ): Promise<{ retried: number; failed: number }> {
    const { knex } = this;
    const count = (type: string) =>
      knex('dm_events as e')
        .count('*')
        .whereRaw('e.migration_id = m.id')
        .where('e.type', type)
        .where('e.created_at', '>=', since)
        // details is the JSON.stringify of { key, stage, ... }: a quote in
        // the key is escaped, so only the stage property can match.
        .where('e.details', 'like', '%"stage":"copy"%');
    const [row]: Array<{ retried: DbCount | null; failed: DbCount | null }> =
      await knex('dm_migrations as m')
        .where(m =>
          m
            .whereNotIn('m.state', [...FINAL_MIGRATION_STATES])
            .orWhere(
              'm.updated_at',
              '>=',
              since - (RECENT_MIGRATION_MS - THROUGHPUT_WINDOW_MS),
            ),
        )
        .select({
          retried: knex.raw('sum(?)', [count('item-retry')]),
          failed: knex.raw('sum(?)', [count('item-failed')]),
        });
    return { retried: num(row?.retried), failed: num(row?.failed) };
  }
}

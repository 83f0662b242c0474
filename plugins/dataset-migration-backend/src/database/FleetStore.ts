import { Knex } from 'knex';
import type { FleetStatus } from '@internal/backstage-plugin-dataset-migration-common';
import { num } from './migrations';

/** Worker heartbeats and the queue-wide numbers behind `GET /fleet`. */
export class FleetStore {
  constructor(private readonly knex: Knex) {}

  async heartbeat(workerId: string, inFlight: number): Promise<void> {
    await this.knex('dm_workers')
      .insert({ id: workerId, last_seen_at: Date.now(), in_flight: inFlight })
      .onConflict('id')
      .merge();
  }

  async remove(workerId: string): Promise<void> {
    await this.knex('dm_workers').where('id', workerId).delete();
  }

  async status(seenWithinMs: number): Promise<Omit<FleetStatus, 'migrations'>> {
    const now = Date.now();
    const active = (q: Knex.QueryBuilder) =>
      q
        .join('dm_migrations as m', 'm.id', 'wi.migration_id')
        .whereIn('m.state', ['running', 'rolling-back']);
    const [{ queued }] = await active(this.knex('dm_work_items as wi'))
      .where('wi.state', 'pending')
      .count({ queued: '*' });
    const [{ inflight }] = await this.knex('dm_work_items')
      .where('state', 'running')
      .where('lease_expires_at', '>=', now)
      .count({ inflight: '*' });
    const [recent] = await this.knex('dm_work_items')
      .where('copied_at', '>=', now - 60_000)
      .count({ items: '*' })
      .sum({ bytes: 'size' });
    const workers = await this.knex('dm_workers')
      .where('last_seen_at', '>=', now - seenWithinMs)
      .orderBy('id');
    return {
      queueDepth: num(queued),
      inFlight: num(inflight),
      workers: workers.map(w => ({
        id: w.id,
        lastSeenAt: new Date(num(w.last_seen_at)).toISOString(),
        inFlight: num(w.in_flight),
      })),
      throughput: {
        itemsPerMinute: num(recent?.items),
        bytesPerMinute: num(recent?.bytes),
      },
    };
  }
}

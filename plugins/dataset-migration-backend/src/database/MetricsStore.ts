import { Knex } from 'knex';
import { whereActive, whereClaimable } from './claims';
import { dbNow } from './clock';
import { DbCount, num } from './rowValues';
import type { ItemStage } from './workItemRows';

const STAGES: ItemStage[] = ['copy', 'validate', 'rollback'];

/**
 * The grouped counts behind the engine's observable gauges (metrics.ts).
 * Each is one indexed COUNT query; the caller caches them, as a gauge is
 * read on every scrape of every replica.
 */
export class MetricsStore {
  constructor(private readonly knex: Knex) {}

  /**
   * Items a worker could claim right now, by stage: pending and due (a
   * retry waiting out its back-off is not), or running on a lease that
   * expired (claims.ts takes those first). Only items of the stage their
   * migration is in count, exactly the migrations claims.ts hands out work
   * of, so the number is what more replicas would start on at once.
   */
  async queueDepth(): Promise<Record<ItemStage, number>> {
    const { knex } = this;
    const now = dbNow(knex);
    const rows: Array<{ stage: ItemStage; n: DbCount }> = await whereActive(
      knex('dm_work_items as wi').join(
        'dm_migrations as m',
        'm.id',
        'wi.migration_id',
      ),
      'm',
    )
      // The stage their migration is in (claims.ts maps it the same way).
      .where(stage =>
        stage
          .where(r =>
            r
              .where('m.state', 'running')
              .where('wi.stage', knex.ref('m.phase')),
          )
          .orWhere(r =>
            r.where('m.state', 'rolling-back').where('wi.stage', 'rollback'),
          ),
      )
      .where(claimable =>
        claimable
          .where(p => whereClaimable(p, 'pending', now, 'wi'))
          .orWhere(e => whereClaimable(e, 'expired', now, 'wi')),
      )
      .groupBy('wi.stage')
      .select('wi.stage as stage')
      .count({ n: '*' });
    const result = Object.fromEntries(STAGES.map(s => [s, 0])) as Record<
      ItemStage,
      number
    >;
    for (const r of rows) result[r.stage] = num(r.n);
    return result;
  }

  /**
   * Items `owner` claimed and has not finished or lost: what that replica
   * works on. The lease expiry is not checked, as a worker goes on with an
   * item until its next write finds the lease gone.
   */
  async runningOn(owner: string): Promise<number> {
    const [{ n }]: Array<{ n: DbCount }> = await this.knex('dm_work_items')
      .where({ state: 'running', lease_owner: owner })
      .count({ n: '*' });
    return num(n);
  }
}

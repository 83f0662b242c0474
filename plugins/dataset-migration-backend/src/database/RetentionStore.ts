import { Knex } from 'knex';
import type {
  MigrationDataSummary,
  MigrationEventLevel,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { DbEventRow } from './EventStore';
import { DbMigrationRow, fromRow, MigrationRow } from './migrationRows';
import type { DbValidationReportRow } from './ReportStore';
import { DbCount, DbWrite, num } from './rowValues';

/**
 * Rows one DELETE removes at most: a migration of millions of objects is
 * deleted in many short statements, never in one huge transaction that
 * would hold locks and bloat the WAL.
 */
export const PURGE_BATCH_ROWS = 5000;

/** The tables whose rows of a migration the retention task deletes. */
const DATA_TABLES = [
  'dm_parts',
  'dm_work_items',
  'dm_events',
  'dm_validation_reports',
] as const;

/** How many of the last events the summary keeps. */
const LAST_EVENTS = 5;

/** The part of the summary read from the database (see {@link RetentionStore.gather}). */
export type GatheredData = Pick<
  MigrationDataSummary,
  'objects' | 'bytes' | 'itemStates' | 'report' | 'events'
>;

/**
 * Which migrations' data may go once they finished before `before`. Their
 * data must never be needed again, so only migrations that cannot be rolled
 * back or retried any more on their own account:
 *
 * - `rolled-back`: no transition leaves it;
 * - `succeeded`, `failed`, `cancelled` whose backups were already purged
 *   (`backups_purged_at`): the rollback window (`backups.retention`) is
 *   over. Such a migration could still be rolled back or retried when it
 *   overwrote nothing; the purge ends that too, because a rollback or retry
 *   without its work items would leave the written objects behind or
 *   "finish" with nothing copied. `MigrationStore.transition` refuses any
 *   change of state once `data_purged_at` is set.
 *
 * Migrations whose backups are still kept are left alone whatever their
 * age: a rollback needs their items.
 */
function eligible(q: Knex.QueryBuilder, before: number) {
  return q
    .whereNull('data_purged_at')
    .where('finished_at', '<', before)
    .where(w =>
      w
        .where('state', 'rolled-back')
        .orWhere(b =>
          b
            .whereIn('state', ['succeeded', 'failed', 'cancelled'])
            .whereNotNull('backups_purged_at'),
        ),
    );
}

/**
 * The SQL of the data retention task (`engine/dataRetention.ts`): finds
 * migrations whose data expired, summarises it onto the migration row with a
 * conditional update, and deletes it in bounded batches.
 */
export class RetentionStore {
  constructor(
    private readonly knex: Knex,
    private readonly batchRows = PURGE_BATCH_ROWS,
  ) {}

  /**
   * Up to `limit` migrations whose data expired before `before`, oldest
   * first, after the (`finishedAt`, `id`) of `after` (keyset paging, so a
   * migration skipped in this run is not listed again).
   */
  async listCandidates(
    before: number,
    limit: number,
    after?: { finishedAt: number; id: string },
  ): Promise<MigrationRow[]> {
    const rows: DbMigrationRow[] = await eligible(
      this.knex('dm_migrations'),
      before,
    )
      .modify(q => {
        if (after) {
          q.where(w =>
            w
              .where('finished_at', '>', after.finishedAt)
              .orWhere(e =>
                e
                  .where('finished_at', after.finishedAt)
                  .where('id', '>', after.id),
              ),
          );
        }
      })
      .orderBy('finished_at', 'asc')
      .orderBy('id', 'asc')
      .limit(limit);
    return rows.map(fromRow);
  }

  /** What the migration's items, events and report say, for its summary. */
  async gather(id: string): Promise<GatheredData> {
    const states: Array<{ state: string; count: DbCount; bytes: DbCount }> =
      await this.knex('dm_work_items')
        .where('migration_id', id)
        .groupBy('state')
        .select('state')
        .count({ count: '*' })
        .sum({ bytes: 'size' });
    const [{ count: eventCount }]: Array<{ count: DbCount }> = await this.knex(
      'dm_events',
    )
      .where('migration_id', id)
      .count({ count: '*' });
    const last: Array<
      Pick<DbEventRow, 'type' | 'level' | 'message' | 'created_at'>
    > = await this.knex('dm_events')
      .where('migration_id', id)
      .orderBy('id', 'desc')
      .limit(LAST_EVENTS)
      .select('type', 'level', 'message', 'created_at');
    const report: DbValidationReportRow | undefined = await this.knex(
      'dm_validation_reports',
    )
      .where('migration_id', id)
      .first();
    return {
      objects: states.reduce((n, s) => n + num(s.count), 0),
      bytes: states.reduce((n, s) => n + num(s.bytes), 0),
      itemStates: Object.fromEntries(states.map(s => [s.state, num(s.count)])),
      ...(report && { report: reportGist(report) }),
      events: {
        count: num(eventCount),
        last: last.reverse().map(e => ({
          type: e.type,
          level: e.level as MigrationEventLevel,
          message: e.message,
          createdAt: new Date(num(e.created_at)).toISOString(),
        })),
      },
    };
  }

  /**
   * Records the summary and marks the data purged, only if the migration is
   * still eligible and still the same finished run (`finished_at`) as read:
   * a migration that changed meanwhile, or that another replica marked
   * first, is left alone (false).
   */
  async markPurged(
    m: MigrationRow,
    before: number,
    summary: MigrationDataSummary,
    now: number,
  ): Promise<boolean> {
    const patch: DbWrite<DbMigrationRow> = {
      data_purged_at: now,
      data_summary: JSON.stringify(summary),
    };
    const updated = await eligible(this.knex('dm_migrations'), before)
      .where('id', m.id)
      .where('finished_at', m.finishedAt ?? null)
      .update(patch);
    return updated === 1;
  }

  /**
   * Up to `limit` migrations marked purged that still have rows, e.g. after
   * a replica stopped in the middle of deleting them, or an event appended
   * after the purge.
   */
  async listUnfinished(limit: number): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.knex('dm_migrations as m')
      .whereNotNull('m.data_purged_at')
      .where(w => {
        for (const table of DATA_TABLES) {
          w.orWhereExists(
            this.knex(table)
              .select(this.knex.raw('1'))
              .whereRaw('??.migration_id = ??', [table, 'm.id']),
          );
        }
      })
      .orderBy('m.data_purged_at', 'asc')
      .limit(limit)
      .select('m.id');
    return rows.map(r => r.id);
  }

  /**
   * Deletes the migration's rows of each data table, `batchRows` per
   * statement, until none is left; `between` runs before each statement
   * (to stop when the engine stops). Safe to run twice at once: each
   * statement deletes what is still there.
   */
  async deleteData(
    id: string,
    between: () => void = () => {},
  ): Promise<Record<(typeof DATA_TABLES)[number], number>> {
    const deleted = {
      dm_parts: 0,
      dm_work_items: 0,
      dm_events: 0,
      dm_validation_reports: 0,
    };
    for (const table of DATA_TABLES) {
      // dm_validation_reports is keyed by migration_id; the others by id.
      const key = table === 'dm_validation_reports' ? 'migration_id' : 'id';
      for (;;) {
        between();
        const n = await this.knex(table)
          .whereIn(
            key,
            this.knex(table)
              .select(key)
              .where('migration_id', id)
              .limit(this.batchRows),
          )
          .delete();
        deleted[table] += n;
        // Until a statement finds nothing: a concurrent purge of the same
        // rows may make one delete fewer than a batch before the end.
        if (n === 0) break;
      }
    }
    return deleted;
  }
}

function reportGist(
  row: DbValidationReportRow,
): NonNullable<MigrationDataSummary['report']> {
  const report = JSON.parse(row.report);
  return {
    passed: Boolean(row.passed),
    checkedAt: report.checkedAt,
    objects: report.objects,
    manifestMatches: Boolean(report.manifest?.matches),
    failures: report.failures?.length ?? 0,
  };
}

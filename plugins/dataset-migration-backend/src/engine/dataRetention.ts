import type { MigrationDataSummary } from '@internal/backstage-plugin-dataset-migration-common';
import type { MigrationRow } from '../database/MigrationStore';
import type { RetentionStore } from '../database/RetentionStore';
import type { EngineContext } from './context';

/** Migrations read per query of the task. */
const PAGE = 50;

/** A retention in words, for the summary and the API's messages. */
export function describeDataAge(ms: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, unit] of units) {
    if (ms >= size) {
      const n = Math.round((ms / size) * 10) / 10;
      return `${n} ${unit}${n === 1 ? '' : 's'}`;
    }
  }
  return `${ms} ms`;
}

/**
 * The data retention task: deletes the work items, events and validation
 * report of migrations that finished more than
 * `datasetMigration.retention.dataAge` before `now` and can no longer be
 * rolled back (which ones: `RetentionStore`), keeping the migration row
 * with a summary of what was deleted.
 *
 * It runs as a scheduled task with `scope: 'global'`, so normally one
 * replica at a time; it is also safe when two run at once: the summary is
 * written by a conditional update, and only the replica whose update
 * succeeded counts the migration and deletes its rows. A run first
 * finishes the deletions an earlier run left half done.
 *
 * `signal` (the scheduled task's, aborted at its timeout) stops a run
 * between two statements; the next run goes on from there.
 */
export async function purgeExpiredData(
  ctx: EngineContext,
  retention: RetentionStore,
  now: number,
  signal?: AbortSignal,
): Promise<{ purged: number }> {
  const { dataAgeMs } = ctx.config.retention;
  if (dataAgeMs === undefined) return { purged: 0 };
  const alive = () => {
    ctx.assertAlive();
    signal?.throwIfAborted();
  };
  await finishUnfinished(ctx, retention, alive);
  const before = now - dataAgeMs;
  let purged = 0;
  let after: { finishedAt: number; id: string } | undefined;
  for (;;) {
    const batch = await retention.listCandidates(before, PAGE, after);
    if (batch.length === 0) break;
    for (const m of batch) {
      alive();
      try {
        if (await purgeOne(ctx, retention, m, before, now, dataAgeMs, alive)) {
          purged += 1;
        }
      } catch (e) {
        alive(); // a stop is not a failure of this migration
        // The next run picks it up again (unmarked, or marked with rows left).
        ctx.logger.warn(`Purging the data of migration ${m.id} failed: ${e}`);
      }
    }
    const last = batch[batch.length - 1];
    after = { finishedAt: last.finishedAt ?? 0, id: last.id };
  }
  return { purged };
}

async function purgeOne(
  ctx: EngineContext,
  retention: RetentionStore,
  m: MigrationRow,
  before: number,
  now: number,
  dataAgeMs: number,
  alive: () => void,
): Promise<boolean> {
  const gathered = await retention.gather(m.id);
  const progress = (await ctx.stores.items.progress([m.id])).get(m.id)!;
  const summary: MigrationDataSummary = {
    ...gathered,
    progress,
    dataAgeMs,
    dataAge: describeDataAge(dataAgeMs),
  };
  if (!(await retention.markPurged(m, before, summary, now))) {
    return false;
  }
  const deleted = await retention.deleteData(m.id, alive);
  ctx.logger.info(
    `Purged the data of migration ${m.id} (${m.state}, finished ${new Date(
      m.finishedAt ?? 0,
    ).toISOString()}): ${deleted.dm_work_items} work item(s), ${
      deleted.dm_events
    } event(s), ${deleted.dm_validation_reports} report(s)`,
  );
  return true;
}

/** Deletes what is left of migrations already marked purged. */
async function finishUnfinished(
  ctx: EngineContext,
  retention: RetentionStore,
  alive: () => void,
): Promise<void> {
  const failed = new Set<string>();
  for (;;) {
    const ids = (await retention.listUnfinished(PAGE + failed.size)).filter(
      id => !failed.has(id),
    );
    if (ids.length === 0) return;
    for (const id of ids) {
      alive();
      try {
        await retention.deleteData(id, alive);
      } catch (e) {
        alive();
        failed.add(id);
        ctx.logger.warn(`Finishing the data purge of ${id} failed: ${e}`);
      }
    }
  }
}

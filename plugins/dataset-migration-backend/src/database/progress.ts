import { Knex } from 'knex';
import type {
  MigrationProgress,
  StepProgress,
} from '@internal/backstage-plugin-dataset-migration-common';
import { DbCount, num } from './rowValues';
import type { ItemStage, ItemState } from './workItemRows';

/**
 * Item and byte counts of each migration, in total and per item stage
 * (`steps`, keyed by stage): an item past the copy stage counts as copied.
 */
export async function readProgress(
  knex: Knex,
  ids: string[],
): Promise<Map<string, MigrationProgress>> {
  const zero = (): StepProgress => ({
    totalItems: 0,
    doneItems: 0,
    failedItems: 0,
    totalBytes: 0,
    doneBytes: 0,
  });
  const result = new Map<string, MigrationProgress>();
  const stages = new Map<string, Set<ItemStage>>();
  for (const id of ids) {
    result.set(id, { ...zero(), steps: {} });
    stages.set(id, new Set());
  }
  if (ids.length === 0) return result;
  const rows: Array<{
    migration_id: string;
    stage: ItemStage;
    state: ItemState;
    count: DbCount;
    bytes: DbCount | null;
  }> = await knex('dm_work_items')
    .whereIn('migration_id', ids)
    .groupBy('migration_id', 'stage', 'state')
    .select('migration_id', 'stage', 'state')
    .count({ count: '*' })
    .sum({ bytes: 'size' });
  const add = (
    p: StepProgress,
    state: ItemState,
    count: number,
    bytes: number,
  ) => {
    p.totalItems += count;
    p.totalBytes += bytes;
    if (state === 'done' || state === 'skipped') {
      p.doneItems += count;
      p.doneBytes += bytes;
    } else if (state === 'failed') {
      p.failedItems += count;
    }
  };
  for (const r of rows) {
    const p = result.get(r.migration_id)!;
    const stage = r.stage;
    const count = num(r.count);
    const bytes = num(r.bytes);
    stages.get(r.migration_id)!.add(stage);
    add(p, r.state, count, bytes);
    const steps = p.steps!;
    // An item past the copy stage was copied.
    add(
      (steps.copy ??= zero()),
      stage === 'copy' ? r.state : 'done',
      count,
      bytes,
    );
    if (stage !== 'copy') add((steps[stage] ??= zero()), r.state, count, bytes);
  }
  await addPartBytes(
    knex,
    result,
    rows.filter(r => r.stage === 'copy' && r.state === 'running'),
  );
  return result;
}

/**
 * A large object copied in parts counts as done only once complete; until
 * then its written parts' bytes are added to `doneBytes`, so the progress
 * of a migration of a few huge objects moves. One query, only while copy
 * items are running.
 */
async function addPartBytes(
  knex: Knex,
  result: Map<string, MigrationProgress>,
  running: Array<{ migration_id: string }>,
) {
  if (running.length === 0) return;
  const rows: Array<{ migration_id: string; bytes: DbCount | null }> =
    await knex('dm_parts as p')
      .join('dm_work_items as wi', 'wi.id', 'p.item_id')
      .whereIn('p.migration_id', [...new Set(running.map(r => r.migration_id))])
      .where({ 'p.state': 'done', 'wi.state': 'running', 'wi.stage': 'copy' })
      .groupBy('p.migration_id')
      .select('p.migration_id')
      .sum({ bytes: 'p.size' });
  for (const r of rows) {
    const p = result.get(r.migration_id)!;
    const bytes = num(r.bytes);
    p.doneBytes += bytes;
    p.steps!.copy!.doneBytes += bytes;
  }
}

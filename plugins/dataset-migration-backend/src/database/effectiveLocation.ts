import type { Knex } from 'knex';

/**
 * The id of the migration whose cutover moved `dataset` to `location`: the
 * latest `succeeded` one with that target and a `cutover_at`, found by one
 * query (the same ordering as `MigrationStore.effectiveLocation`), however
 * many migrations the dataset has had. Undefined when none did.
 */
export async function findCutoverMigration(
  knex: Knex,
  dataset: string,
  location: string,
): Promise<string | undefined> {
  const row: { id: string } | undefined = await knex('dm_migrations')
    .where({ dataset, state: 'succeeded', target_location: location })
    .whereNotNull('cutover_at')
    .orderBy([
      { column: 'cutover_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .first('id');
  return row?.id;
}

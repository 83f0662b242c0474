// @ts-check

/**
 * Retention of migration data: after `datasetMigration.retention.dataAge`, a
 * scheduled task deletes a finished migration's work items, events and
 * validation report. The migration row stays, with a summary of what was
 * deleted, so the API can still show its outcome.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('dm_migrations', table => {
    table
      .bigInteger('data_purged_at')
      .nullable()
      .comment(
        'When the retention task deleted the work items, events and report; the migration can no longer change state after it',
      );
    table
      .text('data_summary')
      .nullable()
      .comment('JSON MigrationDataSummary, written when the data was purged');
  });
};

/**
 * Plain `ALTER TABLE … DROP COLUMN` (SQLite ≥ 3.35, PostgreSQL): knex's
 * `dropColumn` rebuilds a SQLite table, and dropping the old
 * `dm_migrations` would cascade to every work item, event and report.
 *
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  for (const column of ['data_purged_at', 'data_summary']) {
    await knex.raw('ALTER TABLE ?? DROP COLUMN ??', ['dm_migrations', column]);
  }
};

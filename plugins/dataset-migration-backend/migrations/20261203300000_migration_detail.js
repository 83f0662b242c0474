// @ts-check

/**
 * What the portal's migration pages show and filter by: the dataset's owner
 * at planning time, and when the current step began (for throughput / ETA).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('dm_migrations', table => {
    table
      .text('dataset_owner')
      .nullable()
      .comment(
        "Entity ref of the dataset's owner when the migration was planned",
      );
    table
      .bigInteger('phase_started_at')
      .nullable()
      .comment('When the current phase (step) began');
    table.index(['dataset_owner'], 'dm_migrations_dataset_owner_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('dm_migrations', table => {
    table.dropIndex(['dataset_owner'], 'dm_migrations_dataset_owner_idx');
    table.dropColumn('dataset_owner');
    table.dropColumn('phase_started_at');
  });
};

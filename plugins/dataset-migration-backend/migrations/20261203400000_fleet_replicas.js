// @ts-check

/**
 * A replica that stops (or dies) stays in `GET /fleet` as `gone` for a while
 * instead of vanishing: a graceful stop records when it stopped.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('dm_workers', table => {
    table
      .bigInteger('stopped_at')
      .nullable()
      .comment('When the replica stopped gracefully; null while it runs');
    table.bigInteger('started_at').nullable().comment('First heartbeat');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('dm_workers', table => {
    table.dropColumn('stopped_at');
    table.dropColumn('started_at');
  });
};

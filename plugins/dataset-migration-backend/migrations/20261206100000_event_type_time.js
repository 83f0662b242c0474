// @ts-check

/**
 * `GET /fleet`'s error rate counts the copy retries and failures of the last
 * minute (database/FleetStore.ts): an index on the event type and time reads
 * just those events, whatever the number of migrations or events.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('dm_events', table => {
    table.index(['type', 'created_at'], 'dm_events_type_time_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('dm_events', table => {
    table.dropIndex(['type', 'created_at'], 'dm_events_type_time_idx');
  });
};

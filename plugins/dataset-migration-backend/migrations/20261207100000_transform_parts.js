// @ts-check

/**
 * A large data object of a schema-transform is transformed in parts: each
 * part is a byte range of the source cut at a record end, read after the
 * source's first `prefix_size` bytes (a CSV header), transformed on its own
 * and staged in the backup area. `result` keeps the part's counts, sample,
 * bad rows and staged output (JSON) for the lane that assembles the object.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('dm_parts', table => {
    table
      .bigInteger('prefix_size')
      .notNullable()
      .defaultTo(0)
      .comment('Bytes from the start of the source read before the part');
    table
      .text('result')
      .nullable()
      .comment("A transformed part's counts and staged output (JSON)");
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('dm_parts', table => {
    table.dropColumn('prefix_size');
    table.dropColumn('result');
  });
};

// @ts-check

/**
 * Per-object results of a schema-transform: row counts, bad rows, the
 * written output's checksum and the sampled records the validation compares
 * (JSON), plus the validation's own findings.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('dm_work_items', table => {
    table
      .text('transform_stats')
      .nullable()
      .comment(
        'JSON: rows read, filtered, bad and written, output sha256 and size, sampled records, and the validation findings',
      );
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('dm_work_items', table => {
    table.dropColumn('transform_stats');
  });
};

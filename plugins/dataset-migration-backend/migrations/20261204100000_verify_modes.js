// @ts-check

/**
 * Verify modes: the source's CRC32C (listed, or hashed while streaming), how
 * validation verified each object and the target checksum it compared.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('dm_work_items', table => {
    table
      .string('source_crc32c', 8)
      .nullable()
      .comment('CRC32C of the source object, lowercase hex');
    table
      .string('verify_method', 16)
      .nullable()
      .comment(
        "How validation verified the object: 'checksum', 'full' or 'none'",
      );
    table
      .string('target_checksum', 80)
      .nullable()
      .comment(
        "The target's checksum a 'checksum' verification compared, as algorithm:hex",
      );
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('dm_work_items', table => {
    table.dropColumn('source_crc32c');
    table.dropColumn('verify_method');
    table.dropColumn('target_checksum');
  });
};

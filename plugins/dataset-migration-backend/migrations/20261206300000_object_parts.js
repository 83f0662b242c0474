// @ts-check

/**
 * Chunk work items of large objects: one row per part of an object written
 * as a parted write (S3 multipart upload, positional writes to a local temp
 * file). Workers of any replica claim parts with a lease, like items; the
 * item keeps the upload id, so a part (or the upload's completion) can be
 * redone after a crash by whichever replica claims it.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('dm_work_items', table => {
    table
      .text('upload_id')
      .nullable()
      .comment(
        'The parted write of a large object, while its parts are written',
      );
  });
  await knex.schema.createTable('dm_parts', table => {
    table.comment('One row per part of a large object copied in parts');
    table.bigIncrements('id').primary();
    table
      .string('migration_id', 64)
      .notNullable()
      .references('id')
      .inTable('dm_migrations')
      .onDelete('CASCADE');
    table.bigInteger('item_id').notNullable();
    table.integer('part_number').notNullable();
    table.bigInteger('offset').notNullable();
    table.bigInteger('size').notNullable();
    table
      .string('state', 16)
      .notNullable()
      .comment('pending | running | done | failed');
    table.integer('attempts').notNullable().defaultTo(0);
    table.bigInteger('not_before').nullable();
    table.string('lease_owner', 255).nullable();
    table.bigInteger('lease_expires_at').nullable();
    table.text('token').nullable().comment("The backend's receipt of the part");
    table.string('sha256', 64).nullable().comment('Of the bytes written');
    table.string('crc32c', 8).nullable().comment('Of the bytes written');
    table.text('last_error').nullable();
    table.unique(['item_id', 'part_number'], {
      indexName: 'dm_parts_item_part_uq',
    });
    table.index(['migration_id', 'state'], 'dm_parts_claim_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('dm_parts');
  await knex.schema.alterTable('dm_work_items', table => {
    table.dropColumn('upload_id');
  });
};

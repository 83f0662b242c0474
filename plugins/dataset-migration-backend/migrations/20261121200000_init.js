// @ts-check

/**
 * Store of the dataset-migration engine. Times are epoch milliseconds in
 * bigint columns so that lease arithmetic is identical on SQLite and
 * PostgreSQL and needs no dialect-specific date functions.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('dm_migrations', table => {
    table.comment('One row per dataset migration');
    table.string('id', 64).primary().notNullable();
    table.string('dataset', 512).notNullable();
    table.text('source_location').notNullable();
    table.string('source_format', 32).nullable();
    table.text('target_location').notNullable();
    table.string('target_format', 32).nullable();
    table.string('strategy', 32).notNullable();
    table.text('options').nullable().comment('JSON request options');
    table.string('state', 32).notNullable();
    table
      .string('phase', 32)
      .nullable()
      .comment('Internal stage; the running step or a rollback stage');
    table.text('plan').nullable().comment('JSON MigrationPlan');
    table.text('reason').nullable();
    table.string('created_by', 512).notNullable();
    table.bigInteger('created_at').notNullable();
    table.bigInteger('updated_at').notNullable();
    table.bigInteger('cutover_at').nullable();
    table
      .string('driver_owner', 255)
      .nullable()
      .comment('Worker that runs the migration-level stage');
    table.bigInteger('driver_expires_at').nullable();
    table.index(['dataset'], 'dm_migrations_dataset_idx');
    table.index(['state'], 'dm_migrations_state_idx');
  });

  await knex.schema.createTable('dm_work_items', table => {
    table.comment('One row per object of a migration');
    table.bigIncrements('id').primary();
    table
      .string('migration_id', 64)
      .notNullable()
      .references('id')
      .inTable('dm_migrations')
      .onDelete('CASCADE');
    table.text('key').notNullable();
    table.bigInteger('size').notNullable();
    table.text('source_etag').nullable();
    table
      .string('stage', 16)
      .notNullable()
      .comment('copy | validate | rollback');
    table
      .string('state', 16)
      .notNullable()
      .comment('pending | running | done | failed | skipped');
    table.integer('attempts').notNullable().defaultTo(0);
    table.bigInteger('not_before').nullable();
    table.string('lease_owner', 255).nullable();
    table.bigInteger('lease_expires_at').nullable();
    table.bigInteger('started_at').nullable();
    table.bigInteger('finished_at').nullable();
    table.bigInteger('copied_at').nullable().comment('For throughput');
    table.text('last_error').nullable();
    table
      .boolean('had_original')
      .nullable()
      .comment('null: target untouched; true: original backed up first');
    table.string('copy_method', 32).nullable();
    table.string('source_sha256', 64).nullable();
    table.string('source_md5', 32).nullable();
    table.string('target_sha256', 64).nullable();
    table.bigInteger('target_size').nullable();
    table.text('problem').nullable().comment('Validation failure, if any');
    table.index(['migration_id', 'stage', 'state'], 'dm_work_items_mig_idx');
    table.index(['state', 'not_before'], 'dm_work_items_claim_idx');
    table.index(['copied_at'], 'dm_work_items_copied_idx');
  });

  await knex.schema.createTable('dm_events', table => {
    table.comment('Audit log and live logs of migrations');
    table.bigIncrements('id').primary();
    table
      .string('migration_id', 64)
      .notNullable()
      .references('id')
      .inTable('dm_migrations')
      .onDelete('CASCADE');
    table.string('type', 64).notNullable();
    table.string('level', 8).notNullable();
    table.text('message').notNullable();
    table.string('actor', 512).nullable();
    table.bigInteger('created_at').notNullable();
    table.text('details').nullable();
    table.index(['migration_id', 'id'], 'dm_events_mig_idx');
  });

  await knex.schema.createTable('dm_validation_reports', table => {
    table.comment('Validation report of a migration');
    table
      .string('migration_id', 64)
      .primary()
      .notNullable()
      .references('id')
      .inTable('dm_migrations')
      .onDelete('CASCADE');
    table.boolean('passed').notNullable();
    table.text('report').notNullable();
    table.bigInteger('created_at').notNullable();
  });

  await knex.schema.createTable('dm_workers', table => {
    table.comment('Heartbeats of worker replicas');
    table.string('id', 255).primary().notNullable();
    table.bigInteger('last_seen_at').notNullable();
    table.integer('in_flight').notNullable().defaultTo(0);
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('dm_workers');
  await knex.schema.dropTable('dm_validation_reports');
  await knex.schema.dropTable('dm_events');
  await knex.schema.dropTable('dm_work_items');
  await knex.schema.dropTable('dm_migrations');
};

// @ts-check

/**
 * Backups move out of the target into a backup area (see
 * src/storage/backupArea.ts) and are purged after a retention time.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('dm_migrations', table => {
    table
      .text('target_root_state')
      .nullable()
      .comment(
        'Opaque folder state of the target before the first write (folder-based stores), restored by a rollback',
      );
    table
      .bigInteger('finished_at')
      .nullable()
      .comment('When the migration last reached a final state');
    table
      .bigInteger('backups_purged_at')
      .nullable()
      .comment(
        'When the retention task removed the backups; rollback is refused after it',
      );
    table.integer('backups_purged_count').nullable();
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('dm_migrations', table => {
    table.dropColumn('target_root_state');
    table.dropColumn('finished_at');
    table.dropColumn('backups_purged_at');
    table.dropColumn('backups_purged_count');
  });
};

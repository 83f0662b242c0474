// @ts-check

/**
 * Request-rate limits shared by every replica: one token bucket per
 * configured storage location (`datasetMigration.rateLimits`), refilled from
 * the database's clock (database/RateLimitStore.ts).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('dm_rate_limits', table => {
    table.comment('One token bucket per rate-limited storage location');
    table
      .string('key', 2048)
      .primary()
      .notNullable()
      .comment('The limited location, e.g. s3://bucket');
    table
      .double('tokens')
      .notNullable()
      .comment('Tokens left at updated_at (fractions accrue between takes)');
    table
      .bigInteger('updated_at')
      .notNullable()
      .comment('Database time (epoch ms) the tokens were counted at');
    table
      .integer('last_granted')
      .notNullable()
      .defaultTo(0)
      .comment('Tokens the last take got, returned by its UPDATE');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('dm_rate_limits');
};

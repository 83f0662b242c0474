/**
 * A relation from a `Migration` entity to the dataset it migrates
 * (`spec.source`).
 *
 * It is deliberately not `dependsOn`: a migration moves the dataset, it does
 * not consume it, so it must not show up among the dataset's consumers or as
 * a dependency in the catalog graph.
 *
 * @public
 */
export const RELATION_MIGRATION_OF = 'migrationOf';

/**
 * The reverse of {@link RELATION_MIGRATION_OF}: from a dataset to each of its
 * `Migration` entities.
 *
 * @public
 */
export const RELATION_HAS_MIGRATION = 'hasMigration';

import type { Entity, KindValidator } from '@backstage/catalog-model';
import { z } from 'zod';
import { DATASET_FORMATS } from './annotations';
import { mappingSchema } from './mapping';
import { MIGRATION_STRATEGIES } from './types';

/** @public */
export const MIGRATION_API_VERSION = 'dataset-migration.io/v1alpha1';

/** @public */
export const MIGRATION_KIND = 'Migration';

/** Annotation on Migration entities carrying the backend's migration id. @public */
export const ANNOTATION_MIGRATION_ID = 'dataset-migration.io/migration-id';

const migrationSpecSchema = z
  .object({
    source: z.string().min(1),
    target: z
      .object({
        location: z.string().min(1),
        format: z.enum(DATASET_FORMATS).optional(),
      })
      .strict(),
    strategy: z.enum(MIGRATION_STRATEGIES),
    mapping: mappingSchema.optional(),
    owner: z.string().min(1),
  })
  .strict();

/**
 * The `Migration` catalog kind.
 *
 * @public
 */
export interface MigrationEntityV1alpha1 extends Entity {
  apiVersion: typeof MIGRATION_API_VERSION;
  kind: typeof MIGRATION_KIND;
  spec: z.infer<typeof migrationSpecSchema>;
}

/**
 * Tells whether an entity is a Migration, throwing a descriptive error when it
 * claims to be one but its spec is malformed.
 *
 * @public
 */
export const migrationEntityV1alpha1Validator: KindValidator = {
  async check(entity: Entity) {
    if (
      entity.apiVersion !== MIGRATION_API_VERSION ||
      entity.kind !== MIGRATION_KIND
    ) {
      return false;
    }
    const result = migrationSpecSchema.safeParse(entity.spec);
    if (!result.success) {
      const problems = result.error.issues
        .map(i => `spec.${i.path.join('.')}: ${i.message}`)
        .join('; ');
      throw new TypeError(`Invalid Migration entity: ${problems}`);
    }
    return true;
  },
};

/** @public */
export function isMigrationEntity(
  entity: Entity,
): entity is MigrationEntityV1alpha1 {
  return (
    entity.apiVersion === MIGRATION_API_VERSION &&
    entity.kind === MIGRATION_KIND
  );
}

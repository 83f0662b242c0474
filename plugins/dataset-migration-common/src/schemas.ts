import { z } from 'zod';
import { DATASET_FORMATS } from './annotations';
import { InvalidLocationError, parseLocation } from './location';
import { mappingSchema } from './mapping';
import { MIGRATION_STATES, MIGRATION_STRATEGIES, VERIFY_MODES } from './types';

const locationSchema = z.string().superRefine((value, ctx) => {
  try {
    parseLocation(value);
  } catch (e) {
    ctx.addIssue({
      code: 'custom',
      message: e instanceof InvalidLocationError ? e.message : String(e),
    });
  }
});

const entityRefSchema = z
  .string()
  .min(1)
  .max(512)
  .regex(
    /^[a-z0-9_-]+:([a-z0-9_.-]+\/)?[a-zA-Z0-9_.-]+$/i,
    'must be an entity ref like resource:default/plays',
  );

/**
 * Body of `POST /migrations`.
 *
 * @public
 */
export const createMigrationRequestSchema = z
  .object({
    dataset: entityRefSchema,
    target: z
      .object({
        location: locationSchema,
        format: z.enum(DATASET_FORMATS).optional(),
      })
      .strict(),
    strategy: z.enum(MIGRATION_STRATEGIES).default('bulk-copy'),
    /**
     * Mapping of a `schema-transform`; without one, the dataset entity's
     * `dataset-migration.io/mapping` annotation applies.
     */
    mapping: mappingSchema.optional(),
    options: z
      .object({
        /** Per-migration cap on concurrent work items. */
        concurrency: z.number().int().min(1).max(256).optional(),
        /** Skip the approval step (only honoured when config allows it). */
        autoApprove: z.boolean().optional(),
        /**
         * How validation verifies each object (`full`, `checksum`, `none`);
         * without one, `checksum` where both stores keep a common checksum,
         * else `full`. `none` needs `datasetMigration.validation.allowVerifyNone`.
         */
        verify: z.enum(VERIFY_MODES).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** @public */
export type CreateMigrationRequest = z.input<
  typeof createMigrationRequestSchema
>;

/**
 * Body of `POST /migrations/:id/{approve,cancel,rollback,retry}`.
 *
 * @public
 */
export const migrationActionRequestSchema = z
  .object({ reason: z.string().max(1000).optional() })
  .strict();

/** @public */
export type MigrationActionRequest = z.infer<
  typeof migrationActionRequestSchema
>;

/**
 * Query of `GET /migrations`.
 *
 * @public
 */
export const listMigrationsQuerySchema = z
  .object({
    dataset: entityRefSchema.optional(),
    state: z.enum(MIGRATION_STATES).optional(),
    /** Owner of the dataset (a group or user ref; kind defaults to group). */
    owner: z.string().min(1).max(300).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();

/**
 * Query of `GET /migrations/:id/events`.
 *
 * @public
 */
export const listEventsQuerySchema = z
  .object({
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(500),
  })
  .strict();

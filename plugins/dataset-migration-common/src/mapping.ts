import { z } from 'zod';

/**
 * Formats the `schema-transform` strategy reads and writes.
 *
 * @public
 */
export const TABULAR_FORMATS = ['csv', 'ndjson', 'parquet'] as const;

/** @public */
export type TabularFormat = (typeof TABULAR_FORMATS)[number];

/**
 * Column types a mapping can cast to. `timestamp` is an instant (timestamp
 * with time zone): values with an offset are converted to UTC, values
 * without one are read as UTC. `decimal(p,s)` is exact (1 ≤ p ≤ 38,
 * 0 ≤ s ≤ p); values with more decimals are rounded half away from zero.
 *
 * @public
 */
export const SIMPLE_CAST_TYPES = [
  'string',
  'integer',
  'bigint',
  'float',
  'boolean',
  'date',
  'timestamp',
] as const;

/** @public */
export type CastType =
  | (typeof SIMPLE_CAST_TYPES)[number]
  | `decimal(${number},${number})`;

const DECIMAL = /^decimal\((\d{1,2}),\s*(\d{1,2})\)$/;

/**
 * Parses a cast type; returns undefined when it is not one.
 *
 * @public
 */
export function parseCastType(
  value: string,
):
  | { kind: (typeof SIMPLE_CAST_TYPES)[number] }
  | { kind: 'decimal'; precision: number; scale: number }
  | undefined {
  if ((SIMPLE_CAST_TYPES as readonly string[]).includes(value)) {
    return { kind: value as (typeof SIMPLE_CAST_TYPES)[number] };
  }
  const m = DECIMAL.exec(value);
  if (!m) return undefined;
  const precision = Number(m[1]);
  const scale = Number(m[2]);
  if (precision < 1 || precision > 38 || scale > precision) return undefined;
  return { kind: 'decimal', precision, scale };
}

const columnName = z
  .string()
  .min(1)
  .max(256)
  .refine(
    s => ![...s].some(ch => ch.charCodeAt(0) < 0x20),
    'must not contain control characters',
  );

const castSchema = z.string().refine(s => parseCastType(s) !== undefined, {
  message: `must be one of ${SIMPLE_CAST_TYPES.join(', ')} or decimal(p,s)`,
});

const scalar = z.union([z.string().max(10_000), z.number(), z.boolean()]);

const FILTER_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;

/**
 * One row condition. A row is kept when every condition holds. The column
 * is a source column; it is compared after the mapping's cast, so
 * `{ column: amount, op: gt, value: 10 }` compares numbers when `amount`
 * is cast to a number type. A null never satisfies a comparison or `in`.
 *
 * @public
 */
export const filterConditionSchema = z.union([
  z
    .object({ column: columnName, op: z.enum(FILTER_OPS), value: scalar })
    .strict(),
  z
    .object({
      column: columnName,
      in: z.array(scalar).min(1).max(1000),
    })
    .strict(),
  z
    .object({
      column: columnName,
      notIn: z.array(scalar).min(1).max(1000),
    })
    .strict(),
  z.object({ column: columnName, isNull: z.boolean() }).strict(),
]);

/** @public */
export type FilterCondition = z.infer<typeof filterConditionSchema>;

/**
 * What happens to a row whose value cannot be cast: `fail` stops the
 * object (nothing is written for it), `skip` leaves the row out and counts
 * it, `quarantine` also writes it, as it was, to the migration's quarantine
 * area outside the target.
 *
 * @public
 */
export const BAD_ROW_POLICIES = ['fail', 'skip', 'quarantine'] as const;

/** @public */
export type BadRowPolicy = (typeof BAD_ROW_POLICIES)[number];

/**
 * Mapping of the `schema-transform` strategy (YAML or JSON). Output columns
 * are the source columns in source order: renamed / cast / defaulted as a
 * `fields` entry says, left out when listed in `drop`, passed through
 * unchanged otherwise. A `fields` entry whose `from` column is missing in
 * the source adds a column, and needs a `default`.
 *
 * @public
 */
export const mappingSchema = z
  .object({
    /** Format of the migrated dataset; defaults to the source format. */
    format: z.enum(TABULAR_FORMATS).optional(),
    fields: z
      .array(
        z
          .object({
            /** Source column; defaults to `to`. */
            from: columnName.optional(),
            /** Target column name. */
            to: columnName,
            cast: castSchema.optional(),
            /** Value for a null or missing source value. */
            default: scalar.optional(),
          })
          .strict(),
      )
      .max(1000)
      .optional(),
    drop: z.array(columnName).max(1000).optional(),
    filter: z.array(filterConditionSchema).max(100).optional(),
    /** Source columns that identify a row; used to sample records. */
    keys: z.array(columnName).min(1).max(16).optional(),
    /** Defaults to `fail`. */
    badRows: z.enum(BAD_ROW_POLICIES).optional(),
    /** Records per object compared field by field by the validation (default 20). */
    sampleSize: z.number().int().min(0).max(1000).optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    (m.fields ?? []).forEach((f, i) => {
      if (seen.has(f.to)) {
        ctx.addIssue({
          code: 'custom',
          path: ['fields', i, 'to'],
          message: `target column '${f.to}' is produced twice`,
        });
      }
      seen.add(f.to);
      if (m.drop?.includes(f.from ?? f.to)) {
        ctx.addIssue({
          code: 'custom',
          path: ['fields', i],
          message: `column '${f.from ?? f.to}' is both mapped and dropped`,
        });
      }
    });
  });

/** @public */
export type Mapping = z.output<typeof mappingSchema>;

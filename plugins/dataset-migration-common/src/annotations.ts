/**
 * Annotation that marks an entity as a dataset and says where its data lives,
 * as a URI: `file:///…`, `s3://bucket/prefix` or `gs://bucket/prefix`.
 *
 * @public
 */
export const ANNOTATION_DATASET_LOCATION = 'dataset-migration.io/location';

/**
 * Annotation with the dataset's on-disk format (see {@link DATASET_FORMATS}).
 *
 * @public
 */
export const ANNOTATION_DATASET_FORMAT = 'dataset-migration.io/format';

/**
 * Optional annotation with the dataset's schema (a JSON string or a URL).
 *
 * @public
 */
export const ANNOTATION_DATASET_SCHEMA = 'dataset-migration.io/schema';

/**
 * Optional annotation with the dataset's `schema-transform` mapping, as YAML
 * or JSON text: a YAML block string in the entity, or, for entities the
 * catalog reads from a URL location, a file beside it inlined with
 * `dataset-migration.io/mapping: { $text: ./mapping.yaml }`.
 *
 * @public
 */
export const ANNOTATION_DATASET_MAPPING = 'dataset-migration.io/mapping';

/** @public */
export const DATASET_FORMATS = ['csv', 'ndjson', 'parquet', 'binary'] as const;

/** @public */
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

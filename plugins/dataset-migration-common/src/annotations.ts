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

/** @public */
export const DATASET_FORMATS = ['csv', 'ndjson', 'parquet', 'binary'] as const;

/** @public */
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

import type { Entity } from '@backstage/catalog-model';
import { ANNOTATION_DATASET_LOCATION } from '@internal/backstage-plugin-dataset-migration-common';

/**
 * Whether an entity is a dataset this plugin can migrate: any kind (Resource,
 * API, …) that carries the location annotation.
 *
 * @public
 */
export function isDatasetMigrationAvailable(entity: Entity): boolean {
  return !!entity.metadata.annotations?.[ANNOTATION_DATASET_LOCATION]?.trim();
}

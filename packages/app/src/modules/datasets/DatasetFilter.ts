import type { Entity } from '@backstage/catalog-model';
import type { EntityFilter } from '@backstage/plugin-catalog-react';

/**
 * Datasets are catalog entities of `spec.type: dataset`, modelled as kind
 * Resource here and as kind API in portals like Spotify's; both are listed.
 */
export const DATASET_KINDS = ['resource', 'api'];
export const DATASET_TYPE = 'dataset';

/** The catalog query of every dataset, for `catalogApi.getEntities`. */
export const datasetCatalogFilter: Record<string, string | string[]> = {
  kind: DATASET_KINDS,
  'spec.type': DATASET_TYPE,
};

/**
 * Entity list filter of the Datasets page. It stands in for the catalog's
 * kind filter, which holds a single kind and so cannot list Resource and API
 * datasets together.
 */
export class DatasetFilter implements EntityFilter {
  getCatalogFilters() {
    return datasetCatalogFilter;
  }

  filterEntity(entity: Entity): boolean {
    return (
      DATASET_KINDS.includes(entity.kind.toLocaleLowerCase('en-US')) &&
      entity.spec?.type === DATASET_TYPE
    );
  }
}

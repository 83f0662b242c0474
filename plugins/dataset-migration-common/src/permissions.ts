import { createPermission } from '@backstage/plugin-permission-common';
import { RESOURCE_TYPE_CATALOG_ENTITY } from '@backstage/plugin-catalog-common/alpha';

/*
 * Migration permissions are resource permissions on the *dataset* entity, so a
 * policy can use the catalog's conditions (for example `isEntityOwner`) to let
 * a dataset's owners migrate it and nobody else.
 */

/** @public */
export const datasetMigrationCreatePermission = createPermission({
  name: 'dataset-migration.migration.create',
  attributes: { action: 'create' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/** @public */
export const datasetMigrationApprovePermission = createPermission({
  name: 'dataset-migration.migration.approve',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/** @public */
export const datasetMigrationCancelPermission = createPermission({
  name: 'dataset-migration.migration.cancel',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/** @public */
export const datasetMigrationRollbackPermission = createPermission({
  name: 'dataset-migration.migration.rollback',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/** @public */
export const datasetMigrationRetryPermission = createPermission({
  name: 'dataset-migration.migration.retry',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/** @public */
export const datasetMigrationPermissions = [
  datasetMigrationCreatePermission,
  datasetMigrationApprovePermission,
  datasetMigrationCancelPermission,
  datasetMigrationRollbackPermission,
  datasetMigrationRetryPermission,
];

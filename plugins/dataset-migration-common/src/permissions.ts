import { createPermission } from '@backstage/plugin-permission-common';
import { RESOURCE_TYPE_CATALOG_ENTITY } from '@backstage/plugin-catalog-common/alpha';

/*
 * Migration permissions are resource permissions on the *dataset* entity, so a
 * policy can use the catalog's conditions (for example `isEntityOwner`) to let
 * a dataset's owners migrate it and nobody else.
 */

/**
 * Seeing a dataset's migrations: their plans, events (object keys, errors)
 * and validation reports. Checked on every read route; the list shows only
 * migrations of datasets the caller may read.
 *
 * @public
 */
export const datasetMigrationReadPermission = createPermission({
  name: 'dataset-migration.migration.read',
  attributes: { action: 'read' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

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
  datasetMigrationReadPermission,
  datasetMigrationCreatePermission,
  datasetMigrationApprovePermission,
  datasetMigrationCancelPermission,
  datasetMigrationRollbackPermission,
  datasetMigrationRetryPermission,
];

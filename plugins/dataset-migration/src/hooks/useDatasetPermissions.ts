import { usePermission } from '@backstage/plugin-permission-react';
import {
  datasetMigrationApprovePermission,
  datasetMigrationCancelPermission,
  datasetMigrationCreatePermission,
  datasetMigrationRetryPermission,
  datasetMigrationRollbackPermission,
} from '@internal/backstage-plugin-dataset-migration-common';

/** Whether the user may do each migration action on this dataset entity. */
export interface DatasetPermissions {
  create: boolean;
  approve: boolean;
  cancel: boolean;
  rollback: boolean;
  retry: boolean;
  /** True until every answer is in; everything counts as denied meanwhile. */
  loading: boolean;
}

/**
 * Asks the permission framework, with the dataset entity as the resource, so
 * policies such as "owners may migrate their datasets" apply in the UI exactly
 * as the backend enforces them. Anything still loading counts as not allowed.
 */
export function useDatasetPermissions(entityRef: string): DatasetPermissions {
  const resourceRef = entityRef;
  const create = usePermission({
    permission: datasetMigrationCreatePermission,
    resourceRef,
  });
  const approve = usePermission({
    permission: datasetMigrationApprovePermission,
    resourceRef,
  });
  const cancel = usePermission({
    permission: datasetMigrationCancelPermission,
    resourceRef,
  });
  const rollback = usePermission({
    permission: datasetMigrationRollbackPermission,
    resourceRef,
  });
  const retry = usePermission({
    permission: datasetMigrationRetryPermission,
    resourceRef,
  });
  return {
    create: create.allowed,
    approve: approve.allowed,
    cancel: cancel.allowed,
    rollback: rollback.allowed,
    retry: retry.allowed,
    loading: [create, approve, cancel, rollback, retry].some(p => p.loading),
  };
}

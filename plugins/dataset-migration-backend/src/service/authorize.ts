import type {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import {
  AuthorizeResult,
  type ResourcePermission,
} from '@backstage/plugin-permission-common';

/**
 * Checks one migration permission against the dataset it concerns.
 *
 * Migration permissions are resource permissions on the dataset entity, so a
 * policy can answer with catalog conditions (e.g. `isEntityOwner`) and the
 * permission framework resolves them against that entity.
 */
export type DatasetAuthorizer = (
  permission: ResourcePermission<'catalog-entity'>,
  datasetRef: string,
  credentials: BackstageCredentials,
) => Promise<void>;

export function createDatasetAuthorizer(
  permissions: PermissionsService,
): DatasetAuthorizer {
  return async (permission, datasetRef, credentials) => {
    const [decision] = await permissions.authorize(
      [{ permission, resourceRef: datasetRef }],
      { credentials },
    );
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(
        `You are not allowed to ${describe(permission)} for ${datasetRef}`,
      );
    }
  };
}

function describe(permission: ResourcePermission<'catalog-entity'>): string {
  // 'dataset-migration.migration.rollback' -> 'rollback migrations'
  const verb = permission.name.split('.').pop() ?? permission.name;
  return `${verb} migrations`;
}

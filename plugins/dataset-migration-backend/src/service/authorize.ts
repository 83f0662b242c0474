import type {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import {
  AuthorizeResult,
  type ResourcePermission,
} from '@backstage/plugin-permission-common';
import { datasetMigrationReadPermission } from '@internal/backstage-plugin-dataset-migration-common';

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

/**
 * Which of `datasets` the caller may see the migrations of. `'all'` when the
 * policy allows the read permission outright (no per-dataset check needed);
 * otherwise the allowed subset, decided in one batched request. `datasets`
 * is only asked for when the decision depends on the dataset.
 */
export type DatasetReadFilter = (
  credentials: BackstageCredentials,
  datasets: () => Promise<string[]>,
) => Promise<'all' | Set<string>>;

export function createDatasetReadFilter(
  permissions: PermissionsService,
): DatasetReadFilter {
  return async (credentials, datasets) => {
    const [overall] = await permissions.authorizeConditional(
      [{ permission: datasetMigrationReadPermission }],
      { credentials },
    );
    if (overall.result === AuthorizeResult.ALLOW) return 'all';
    if (overall.result === AuthorizeResult.DENY) return new Set();
    const refs = await datasets();
    if (refs.length === 0) return new Set();
    const decisions = await permissions.authorize(
      refs.map(resourceRef => ({
        permission: datasetMigrationReadPermission,
        resourceRef,
      })),
      { credentials },
    );
    return new Set(
      refs.filter((_, i) => decisions[i].result === AuthorizeResult.ALLOW),
    );
  };
}

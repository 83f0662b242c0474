import { createBackendModule } from '@backstage/backend-plugin-api';
import {
  AuthorizeResult,
  isResourcePermission,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import {
  catalogConditions,
  createCatalogConditionalDecision,
} from '@backstage/plugin-catalog-backend/alpha';
import {
  datasetMigrationPermissions,
  datasetMigrationReadPermission,
} from '@internal/backstage-plugin-dataset-migration-common';

/** The permissions that change data: owner-only in this policy. */
const migrationPermissionNames = new Set(
  datasetMigrationPermissions
    .filter(p => p.name !== datasetMigrationReadPermission.name)
    .map(p => p.name),
);

/**
 * The example portal's policy: a dataset's owners (the user or a group they
 * belong to) may migrate it, approve, cancel, retry and roll back its
 * migrations; nobody else may. Everyone signed in may read every
 * migration (a dataset's consumers need to see what moves under them).
 * Everything else is allowed, as in the template's allow-all policy.
 */
export class DatasetOwnerPolicy implements PermissionPolicy {
  async handle(
    request: PolicyQuery,
    user?: PolicyQueryUser,
  ): Promise<PolicyDecision> {
    if (
      migrationPermissionNames.has(request.permission.name) &&
      isResourcePermission(request.permission, 'catalog-entity')
    ) {
      return createCatalogConditionalDecision(
        request.permission,
        catalogConditions.isEntityOwner({
          claims: user?.info.ownershipEntityRefs ?? [],
        }),
      );
    }
    return { result: AuthorizeResult.ALLOW };
  }
}

export const datasetOwnerPolicyModule = createBackendModule({
  pluginId: 'permission',
  moduleId: 'dataset-owner-policy',
  register(reg) {
    reg.registerInit({
      deps: { policy: policyExtensionPoint },
      async init({ policy }) {
        policy.setPolicy(new DatasetOwnerPolicy());
      },
    });
  },
});

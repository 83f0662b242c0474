import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { catalogEntityReadPermission } from '@backstage/plugin-catalog-common/alpha';
import {
  datasetMigrationCreatePermission,
  datasetMigrationReadPermission,
  datasetMigrationRollbackPermission,
} from '@internal/backstage-plugin-dataset-migration-common';
import { DatasetOwnerPolicy } from './permissionPolicy';

const user = {
  identity: {
    type: 'user' as const,
    userEntityRef: 'user:default/guest',
    ownershipEntityRefs: ['user:default/guest', 'group:default/data-platform'],
  },
  info: {
    userEntityRef: 'user:default/guest',
    ownershipEntityRefs: ['user:default/guest', 'group:default/data-platform'],
  },
  token: 'token',
  credentials: {} as any,
};

describe('DatasetOwnerPolicy', () => {
  const policy = new DatasetOwnerPolicy();

  it.each([
    datasetMigrationCreatePermission,
    datasetMigrationRollbackPermission,
  ])('makes %s conditional on owning the dataset', async permission => {
    const decision = await policy.handle({ permission }, user as any);
    expect(decision).toEqual({
      result: AuthorizeResult.CONDITIONAL,
      pluginId: 'catalog',
      resourceType: 'catalog-entity',
      conditions: {
        rule: 'IS_ENTITY_OWNER',
        resourceType: 'catalog-entity',
        params: { claims: user.info.ownershipEntityRefs },
      },
    });
  });

  it('gives an anonymous caller no ownership claims', async () => {
    const decision = await policy.handle({
      permission: datasetMigrationCreatePermission,
    });
    expect(decision).toMatchObject({
      result: AuthorizeResult.CONDITIONAL,
      conditions: { params: { claims: [] } },
    });
  });

  it('lets everyone read migrations', async () => {
    await expect(
      policy.handle(
        { permission: datasetMigrationReadPermission },
        user as any,
      ),
    ).resolves.toEqual({ result: AuthorizeResult.ALLOW });
  });

  it('allows other permissions', async () => {
    await expect(
      policy.handle({ permission: catalogEntityReadPermission }, user as any),
    ).resolves.toEqual({ result: AuthorizeResult.ALLOW });
  });
});

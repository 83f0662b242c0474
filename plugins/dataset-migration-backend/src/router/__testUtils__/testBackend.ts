import {
  coreServices,
  createServiceFactory,
  type PermissionsService,
} from '@backstage/backend-plugin-api';
import {
  mockServices,
  startTestBackend,
  type TestBackend,
} from '@backstage/backend-test-utils';
import {
  type Entity,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import type { JsonObject } from '@backstage/config';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  AuthorizeResult,
  type EvaluatePermissionRequest,
  isResourcePermission,
} from '@backstage/plugin-permission-common';
import type { Knex } from 'knex';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { datasetMigrationReadPermission } from '@internal/backstage-plugin-dataset-migration-common';
import { datasetMigrationPlugin } from '../../plugin';

export const API = '/api/dataset-migration';

/** A permission request the test policy saw, with its decision. */
export interface RecordedDecision {
  permission: string;
  resourceRef?: string;
  principal: string;
  result: AuthorizeResult;
}

/**
 * A permission policy as an organisation would write it with
 * `isEntityOwner`: a migration permission is granted when the caller owns
 * the dataset entity (directly, or through one of `groups`). It reads the
 * catalog for real, so it sees what the plugin sees.
 */
export function ownerOnlyPermissions(options: {
  groups?: Record<string, string[]>;
  decisions?: RecordedDecision[];
  /**
   * Reading migrations is open to every user unless this is set; then it
   * is owner-only too (a conditional decision, resolved per dataset).
   */
  ownersOnlyRead?: boolean;
}) {
  const open = (permission: { name: string }) =>
    !options.ownersOnlyRead &&
    permission.name === datasetMigrationReadPermission.name;
  return createServiceFactory({
    service: coreServices.permissions,
    deps: { catalog: catalogServiceRef, auth: coreServices.auth },
    factory({ catalog, auth }): PermissionsService {
      const decide = async (
        request: EvaluatePermissionRequest,
        principal: string,
      ) => {
        if (
          !isResourcePermission(request.permission) ||
          !request.resourceRef ||
          open(request.permission) ||
          // Backstage's permission client never asks the policy about
          // service principals (other backends): they are allowed.
          principal === 'service'
        ) {
          return AuthorizeResult.ALLOW;
        }
        const entity = await catalog.getEntityByRef(request.resourceRef, {
          credentials: await auth.getOwnServiceCredentials(),
        });
        const owner = (entity?.spec as { owner?: string } | undefined)?.owner;
        if (!owner) {
          return AuthorizeResult.DENY;
        }
        const ownerRef = stringifyEntityRef(
          parseEntityRef(owner, { defaultKind: 'group' }),
        );
        const ownership = [principal, ...(options.groups?.[principal] ?? [])];
        return ownership.includes(ownerRef)
          ? AuthorizeResult.ALLOW
          : AuthorizeResult.DENY;
      };
      return {
        async authorize(requests, { credentials }) {
          const principal = auth.isPrincipal(credentials, 'user')
            ? credentials.principal.userEntityRef
            : String((credentials.principal as { type?: string }).type);
          return Promise.all(
            requests.map(async request => {
              const result = await decide(
                request as EvaluatePermissionRequest,
                principal,
              );
              options.decisions?.push({
                permission: request.permission.name,
                resourceRef: (request as EvaluatePermissionRequest).resourceRef,
                principal,
                result,
              });
              return { result } as { result: AuthorizeResult.ALLOW };
            }),
          );
        },
        async authorizeConditional(requests, { credentials }) {
          const user = auth.isPrincipal(credentials, 'user');
          return requests.map(request =>
            user && !open(request.permission)
              ? ({
                  result: AuthorizeResult.CONDITIONAL,
                  pluginId: 'catalog',
                  resourceType: 'catalog-entity',
                  conditions: {
                    rule: 'IS_ENTITY_OWNER',
                    resourceType: 'catalog-entity',
                    params: {},
                  },
                } as const)
              : ({ result: AuthorizeResult.ALLOW } as const),
          );
        },
      };
    },
  });
}

/** A dataset entity as the catalog would hold it after processing. */
export function datasetEntity(options: {
  name: string;
  location?: string;
  format?: string;
  owner?: string;
  kind?: string;
  consumers?: string[];
  /** More annotations, e.g. a mapping. */
  annotations?: Record<string, string>;
}): Entity {
  const annotations: Record<string, string> = { ...options.annotations };
  if (options.location) {
    annotations['dataset-migration.io/location'] = options.location;
  }
  if (options.format) {
    annotations['dataset-migration.io/format'] = options.format;
  }
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: options.kind ?? 'Resource',
    metadata: { name: options.name, namespace: 'default', annotations },
    spec: { type: 'dataset', owner: options.owner ?? 'user:default/mock' },
    relations: (options.consumers ?? []).map(targetRef => ({
      type: 'dependencyOf',
      targetRef,
    })),
  };
}

/** A Component that depends on a dataset. */
export function consumerEntity(name: string, datasetRef: string): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default' },
    spec: { type: 'service', owner: 'group:default/analytics' },
    relations: [{ type: 'dependsOn', targetRef: datasetRef }],
  };
}

/** A temporary folder tree, removed by `cleanup`. */
export async function makeTempRoot(prefix = 'dm-api-'): Promise<{
  dir: string;
  cleanup(): Promise<void>;
}> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

/** Writes `files` (relative path → content) under `dir`. */
export async function writeFiles(
  dir: string,
  files: Record<string, string | Buffer>,
): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, content);
  }
}

/** Every file under `dir`, as sorted relative paths; [] if it is missing. */
export async function listFiles(dir: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, {
      recursive: true,
      withFileTypes: true,
    });
    return entries
      .filter(e => e.isFile())
      .map(e => path.relative(dir, path.join(e.parentPath, e.name)))
      .sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      return [];
    }
    throw e;
  }
}

/**
 * Starts a real backend with the plugin on the given database, a catalog
 * holding `entities`, and `datasetMigration` config (fast polling for tests
 * unless overridden).
 */
export async function startPluginBackend(options: {
  knex: Knex;
  entities: Entity[];
  config?: JsonObject;
  permissions?: ReturnType<typeof ownerOnlyPermissions>;
  features?: Parameters<typeof startTestBackend>[0]['features'];
}): Promise<TestBackend> {
  return startTestBackend({
    features: [
      datasetMigrationPlugin,
      mockServices.database.factory({ knex: options.knex }),
      mockServices.rootConfig.factory({
        data: {
          datasetMigration: {
            workers: { pollIntervalMs: 50 },
            retry: { baseDelayMs: 10, maxDelayMs: 50 },
            ...options.config,
          },
        },
      }),
      catalogServiceMock.factory({ entities: options.entities }),
      ...(options.permissions ? [options.permissions] : []),
      ...(options.features ?? []),
    ],
  });
}

import {
  coreServices,
  createBackendModule,
  type PermissionsService,
  type SchedulerService,
} from '@backstage/backend-plugin-api';
import {
  mockServices,
  startTestBackend,
  type TestBackend,
} from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import catalogModuleScaffolderEntityModel from '@backstage/plugin-catalog-backend-module-scaffolder-entity-model';
import scaffolderPlugin from '@backstage/plugin-scaffolder-backend';
import catalogModuleDatasetMigration from '@internal/backstage-plugin-catalog-backend-module-dataset-migration';
// A test-only devDependency: the end-to-end test runs the real backend plugin.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import datasetMigrationPlugin from '@internal/backstage-plugin-dataset-migration-backend';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { scaffolderModuleDatasetMigration } from './module';

jest.setTimeout(120_000);

const TEMPLATE_PATH = path.resolve(
  __dirname,
  '../../../examples/templates/migrate-dataset/template.yaml',
);

const datasetYaml = (dir: string) => `
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: plays
  annotations:
    dataset-migration.io/location: file://${dir}/plays
    dataset-migration.io/format: csv
spec:
  type: dataset
  owner: group:default/data-platform
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: charts
spec:
  type: service
  lifecycle: production
  owner: group:default/analytics
  dependsOn:
    - resource:default/plays
---
# A dataset the permission policy below does not let the user migrate.
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: locked
  annotations:
    dataset-migration.io/location: file://${dir}/locked
spec:
  type: dataset
  owner: group:default/finance
---
# Typed as a dataset, but without a location the backend could migrate.
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: notes
spec:
  type: dataset
  owner: group:default/data-platform
`;

type Decision = Awaited<ReturnType<PermissionsService['authorize']>>[number];

/** Allows everything except creating a migration of resource:default/locked. */
const permissions = mockServices.permissions.mock({
  async authorize(requests) {
    return requests.map(
      r =>
        ({
          result:
            r.permission.name === 'dataset-migration.migration.create' &&
            'resourceRef' in r &&
            r.resourceRef === 'resource:default/locked'
              ? 'DENY'
              : 'ALLOW',
        } as Decision),
    );
  },
  async authorizeConditional(requests) {
    return requests.map(() => ({ result: 'ALLOW' } as Decision));
  },
});

/** The REST form of an EntityPicker `catalogFilter` alternative. */
function toCatalogQueryFilter(filter: Record<string, unknown>): string {
  return Object.entries(filter)
    .map(([key, value]) =>
      value && typeof value === 'object' && 'exists' in value
        ? key
        : `${key}=${value}`,
    )
    .join(',');
}

interface TaskResult {
  status: string;
  log: string;
  output?: {
    links?: Array<{ title: string; url?: string; entityRef?: string }>;
    text?: Array<{ title: string; content: string }>;
  };
}

async function runTemplate(
  server: TestBackend['server'],
  values: Record<string, unknown>,
): Promise<TaskResult> {
  const created = await request(server)
    .post('/api/scaffolder/v2/tasks')
    .send({ templateRef: 'template:default/migrate-dataset', values });
  expect(created.status).toBe(201);
  const task = await poll('the task', async () => {
    const res = await request(server).get(
      `/api/scaffolder/v2/tasks/${created.body.id}`,
    );
    return ['completed', 'failed'].includes(res.body.status)
      ? res.body
      : undefined;
  });
  const events: Array<{ type: string; body: any }> = (
    await request(server).get(
      `/api/scaffolder/v2/tasks/${created.body.id}/events`,
    )
  ).body;
  return {
    status: task.status,
    log: events
      .map(e => e.body.message)
      .filter(Boolean)
      .join('\n'),
    output: events.find(e => e.type === 'completion')?.body.output,
  };
}

async function poll<T>(
  what: string,
  fn: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await fn();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}`);
    }
    await new Promise(r => setTimeout(r, 200));
  }
}

/**
 * The whole path with real parts: the example template runs in the real
 * scaffolder, the action calls the real dataset-migration backend (which
 * plans against real files and reads the dataset from the real catalog), and
 * the catalog module turns the stored migration into a catalog entity.
 */
describe('Migrate a dataset, end to end', () => {
  let backend: TestBackend;
  let dir: string;
  let catalogScheduler: SchedulerService | undefined;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dm-scaffolder-e2e-'));
    await fs.mkdir(path.join(dir, 'plays'), { recursive: true });
    await fs.writeFile(path.join(dir, 'plays/a.csv'), 'id,n\n1,a\n2,b\n');
    await fs.writeFile(path.join(dir, 'plays/b.csv'), 'id,n\n3,c\n');
    await fs.writeFile(path.join(dir, 'catalog-info.yaml'), datasetYaml(dir));

    backend = await startTestBackend({
      features: [
        catalogPlugin,
        catalogModuleScaffolderEntityModel,
        catalogModuleDatasetMigration,
        // Exposes the catalog's scheduler so the test can run the provider
        // right after the task instead of waiting for its next tick.
        createBackendModule({
          pluginId: 'catalog',
          moduleId: 'test-scheduler-handle',
          register(reg) {
            reg.registerInit({
              deps: { scheduler: coreServices.scheduler },
              async init({ scheduler }) {
                catalogScheduler = scheduler;
              },
            });
          },
        }),
        scaffolderPlugin,
        scaffolderModuleDatasetMigration,
        datasetMigrationPlugin,
        permissions.factory,
        mockServices.rootConfig.factory({
          data: {
            app: { baseUrl: 'http://localhost:3000' },
            catalog: {
              locations: [
                {
                  type: 'file',
                  target: TEMPLATE_PATH,
                  rules: [{ allow: ['Template'] }],
                },
                {
                  type: 'file',
                  target: path.join(dir, 'catalog-info.yaml'),
                  rules: [{ allow: ['Resource', 'Component'] }],
                },
              ],
            },
            datasetMigration: {
              storage: { local: { roots: [dir] } },
              workers: { pollIntervalMs: 50 },
            },
          },
        }),
      ],
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('creates a planned migration as the user and shows it in the catalog', async () => {
    const { server } = backend;
    for (const ref of [
      'template/default/migrate-dataset',
      'resource/default/plays',
      'resource/default/locked',
      'resource/default/notes',
    ]) {
      await poll(ref, async () => {
        const res = await request(server).get(
          `/api/catalog/entities/by-name/${ref}`,
        );
        return res.status === 200 ? true : undefined;
      });
    }
    // The consumer's relation has reached the dataset.
    await poll('the consumer relation', async () => {
      const res = await request(server).get(
        '/api/catalog/entities/by-name/resource/default/plays',
      );
      return res.body.relations?.some(
        (r: { type: string }) => r.type === 'dependencyOf',
      )
        ? true
        : undefined;
    });

    const task = await runTemplate(server, {
      dataset: 'resource:default/plays',
      targetLocation: `file://${dir}/out/plays`,
      format: 'csv',
      strategy: 'bulk-copy',
    });
    expect(task).toMatchObject({ status: 'completed' });
    expect(task.log).toContain(
      `of resource:default/plays to file://${dir}/out/plays; state: awaiting-approval. Plan: 2 objects, 22 B`,
    );

    // The backend holds the migration, created by the user who ran it.
    const listed = await request(server)
      .get('/api/dataset-migration/migrations')
      .query({ dataset: 'resource:default/plays' });
    expect(listed.body.items).toHaveLength(1);
    const migration = listed.body.items[0];
    expect(migration).toMatchObject({
      createdBy: 'user:default/mock',
      state: 'awaiting-approval',
      target: { location: `file://${dir}/out/plays` },
      plan: { consumers: ['component:default/charts'] },
    });
    // Planning is a dry run: nothing was written yet.
    await expect(fs.stat(path.join(dir, 'out'))).rejects.toThrow(/ENOENT/);

    // What the result page shows: the migration's page in the app, and the
    // plan for people rather than raw numbers and entity refs.
    expect(task.output?.links).toEqual([
      {
        title: 'Review and approve the migration',
        icon: 'dashboard',
        url: `/dataset-migrations/${migration.id}`,
      },
      {
        title: 'Open the dataset',
        icon: 'catalog',
        entityRef: 'resource:default/plays',
      },
      { title: 'All migrations', url: '/dataset-migrations' },
    ]);
    const [plan] = task.output?.text ?? [];
    expect(plan.title).toBe('Plan');
    expect(plan.content).toContain(
      `Migration [\`${migration.id}\`](/dataset-migrations/${migration.id}) of [resource:plays](/catalog/default/resource/plays)`,
    );
    expect(plan.content).toContain('is **awaiting approval**');
    expect(plan.content).toContain('| Objects | 2 |');
    expect(plan.content).toContain('| Size | 22 B |');
    expect(plan.content).toContain(
      '| Consumers to notify | [component:charts](/catalog/default/component/charts) |',
    );

    await catalogScheduler!.triggerTask('MigrationEntityProvider:refresh');
    const entity = await poll('the Migration entity', async () => {
      const res = await request(server).get(
        `/api/catalog/entities/by-name/migration/default/plays-${migration.id}`,
      );
      const found: Entity | undefined =
        res.status === 200 ? res.body : undefined;
      return found?.relations?.length ? found : undefined;
    });
    expect(entity.metadata.annotations).toMatchObject({
      'dataset-migration.io/migration-id': migration.id,
    });
    expect(entity.spec).toEqual({
      source: 'resource:default/plays',
      target: { location: `file://${dir}/out/plays`, format: 'csv' },
      strategy: 'bulk-copy',
      owner: 'user:default/mock',
    });
    expect(entity.relations).toEqual(
      expect.arrayContaining([
        { type: 'migrationOf', targetRef: 'resource:default/plays' },
        { type: 'ownedBy', targetRef: 'user:default/mock' },
      ]),
    );
    expect(entity.relations?.map(r => r.type)).not.toContain('dependsOn');

    // The dataset knows its migration, but not as a dependant.
    const dataset = await poll('the reverse relation', async () => {
      const res = await request(server).get(
        '/api/catalog/entities/by-name/resource/default/plays',
      );
      return res.body.relations?.some(
        (r: { type: string }) => r.type === 'hasMigration',
      )
        ? (res.body as Entity)
        : undefined;
    });
    expect(dataset.relations).toContainEqual({
      type: 'hasMigration',
      targetRef: `migration:default/plays-${migration.id}`,
    });
    expect(dataset.relations).not.toContainEqual(
      expect.objectContaining({
        targetRef: `migration:default/plays-${migration.id}`,
        type: 'dependencyOf',
      }),
    );

    // So the next plan of the dataset still lists only its real consumer.
    const next = await request(server)
      .post('/api/dataset-migration/migrations')
      .send({
        dataset: 'resource:default/plays',
        target: { location: `file://${dir}/out/plays-again` },
      });
    expect(next.status).toBe(201);
    expect(next.body.plan.consumers).toEqual(['component:default/charts']);
  });

  it('offers in the picker only the datasets the backend can migrate', async () => {
    const { server } = backend;
    const template = (
      await request(server).get(
        '/api/catalog/entities/by-name/template/default/migrate-dataset',
      )
    ).body;
    const filters: Record<string, unknown>[] =
      template.spec.parameters[0].properties.dataset['ui:options']
        .catalogFilter;
    const res = await request(server)
      .get('/api/catalog/entities/by-query')
      .query({
        filter: filters.map(toCatalogQueryFilter),
        fields: 'kind,metadata.name',
      });
    expect(res.status).toBe(200);
    expect(
      res.body.items.map((e: Entity) => `${e.kind}:${e.metadata.name}`).sort(),
    ).toEqual(['Resource:locked', 'Resource:plays']);
  });

  it('fails before planning, with a clear message, when the user may not migrate the dataset', async () => {
    const task = await runTemplate(backend.server, {
      dataset: 'resource:default/locked',
      targetLocation: `file://${dir}/out/locked`,
      strategy: 'bulk-copy',
    });
    expect(task.status).toBe('failed');
    expect(task.log).toContain(
      'Could not create a migration of resource:default/locked: You are not allowed to create migrations for resource:default/locked',
    );
    expect(task.log).not.toContain('caused by');
    const listed = await request(backend.server)
      .get('/api/dataset-migration/migrations')
      .query({ dataset: 'resource:default/locked' });
    expect(listed.body.items).toEqual([]);
  });
});

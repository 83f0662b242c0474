import {
  coreServices,
  createBackendModule,
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
`;

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
                  rules: [{ allow: ['Resource'] }],
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
    ]) {
      await poll(ref, async () => {
        const res = await request(server).get(
          `/api/catalog/entities/by-name/${ref}`,
        );
        return res.status === 200 ? true : undefined;
      });
    }

    const created = await request(server)
      .post('/api/scaffolder/v2/tasks')
      .send({
        templateRef: 'template:default/migrate-dataset',
        values: {
          dataset: 'resource:default/plays',
          targetLocation: `file://${dir}/out/plays`,
          format: 'csv',
          strategy: 'bulk-copy',
        },
      });
    expect(created.status).toBe(201);

    const task = await poll('the task', async () => {
      const res = await request(server).get(
        `/api/scaffolder/v2/tasks/${created.body.id}`,
      );
      return ['completed', 'failed'].includes(res.body.status)
        ? res.body
        : undefined;
    });
    const events = await request(server).get(
      `/api/scaffolder/v2/tasks/${created.body.id}/events`,
    );
    const log = events.body
      .map((e: { body: { message?: string } }) => e.body.message)
      .filter(Boolean)
      .join('\n');
    expect({ status: task.status, log }).toMatchObject({
      status: 'completed',
    });
    expect(log).toContain(
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
    });
    // Planning is a dry run: nothing was written yet.
    await expect(fs.stat(path.join(dir, 'out'))).rejects.toThrow(/ENOENT/);

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
        { type: 'dependsOn', targetRef: 'resource:default/plays' },
        { type: 'ownedBy', targetRef: 'user:default/mock' },
      ]),
    );

    // The dataset sees the migration as something that depends on it.
    const dataset = await poll('the reverse relation', async () => {
      const res = await request(server).get(
        '/api/catalog/entities/by-name/resource/default/plays',
      );
      return res.body.relations?.some(
        (r: { type: string }) => r.type === 'dependencyOf',
      )
        ? (res.body as Entity)
        : undefined;
    });
    expect(dataset.relations).toContainEqual({
      type: 'dependencyOf',
      targetRef: `migration:default/plays-${migration.id}`,
    });
  });
});

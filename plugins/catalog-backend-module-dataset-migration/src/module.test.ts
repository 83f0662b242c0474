import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import type { Migration } from '@internal/backstage-plugin-dataset-migration-common';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import express from 'express';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { catalogModuleDatasetMigration } from './module';

const migration: Migration = {
  id: 'm1',
  dataset: 'resource:default/plays',
  source: { location: 'file:///data/plays', format: 'csv' },
  target: { location: 's3://archive/plays', format: 'parquet' },
  strategy: 'bulk-copy',
  state: 'queued',
  progress: {
    totalItems: 0,
    doneItems: 0,
    failedItems: 0,
    totalBytes: 0,
    doneBytes: 0,
  },
  createdBy: 'user:default/jane',
  createdAt: '2026-11-21T20:00:00.000Z',
  updatedAt: '2026-11-21T20:00:00.000Z',
};

/**
 * Stands in for the dataset-migration backend: the same plugin id and route,
 * so the module reaches it through the real discovery and auth services.
 */
const fakeDatasetMigrationBackend = createBackendPlugin({
  pluginId: 'dataset-migration',
  register(reg) {
    reg.registerInit({
      deps: {
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
      },
      async init({ httpRouter, httpAuth }) {
        const router = express.Router();
        router.get('/migrations', async (req, res) => {
          // Rejects unauthenticated calls, as the real backend does.
          await httpAuth.credentials(req, { allow: ['service', 'user'] });
          res.json({ items: [migration], totalCount: 1 });
        });
        httpRouter.use(router);
      },
    });
  },
});

const datasetYaml = `
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: plays
  annotations:
    dataset-migration.io/location: file:///data/plays
spec:
  type: dataset
  owner: group:default/data-platform
`;

async function waitForEntity(
  server: Parameters<typeof request>[0],
  url: string,
): Promise<Entity> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await request(server).get(url);
    if (res.status === 200) {
      return res.body;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${url}: ${res.status}`);
    }
    await new Promise(resolve => setTimeout(resolve, 250));
  }
}

/** Waits until the processors have stitched relations onto the entity. */
async function waitForRelations(
  server: Parameters<typeof request>[0],
  url: string,
  until: (relations: NonNullable<Entity['relations']>) => boolean,
): Promise<NonNullable<Entity['relations']>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const relations: NonNullable<Entity['relations']> =
      (await request(server).get(url)).body.relations ?? [];
    if (until(relations)) {
      return relations;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out waiting for relations of ${url}: ${JSON.stringify(
          relations,
        )}`,
      );
    }
    await new Promise(resolve => setTimeout(resolve, 250));
  }
}

describe('catalogModuleDatasetMigration', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dm-catalog-module-'));
    await fs.writeFile(path.join(dir, 'catalog-info.yaml'), datasetYaml);
  });

  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('makes migrations from the backend appear in the real catalog, with relations', async () => {
    const backend = await startTestBackend({
      features: [
        catalogPlugin,
        catalogModuleDatasetMigration,
        fakeDatasetMigrationBackend,
        mockServices.rootConfig.factory({
          data: {
            catalog: {
              locations: [
                {
                  type: 'file',
                  target: path.join(dir, 'catalog-info.yaml'),
                  rules: [{ allow: ['Resource'] }],
                },
              ],
              providers: {
                datasetMigration: {
                  schedule: {
                    frequency: { seconds: 1 },
                    timeout: { seconds: 30 },
                  },
                },
              },
            },
          },
        }),
      ],
    });

    const { server } = backend;
    try {
      const entity = await waitForEntity(
        server,
        '/api/catalog/entities/by-name/migration/default/plays-m1',
      );
      expect(entity.spec).toEqual({
        source: 'resource:default/plays',
        target: { location: 's3://archive/plays', format: 'parquet' },
        strategy: 'bulk-copy',
        owner: 'user:default/jane',
      });

      // Relations appear once the processor has run over the entity.
      const relations = await waitForRelations(
        server,
        '/api/catalog/entities/by-name/migration/default/plays-m1',
        found => found.length > 0,
      );
      expect(relations).toEqual(
        expect.arrayContaining([
          { type: 'migrationOf', targetRef: 'resource:default/plays' },
          { type: 'ownedBy', targetRef: 'user:default/jane' },
        ]),
      );
      expect(relations.map(r => r.type)).not.toContain('dependsOn');

      // The dataset gets the reverse relation, and no dependant: a migration
      // is not a consumer of the dataset it moves.
      const datasetRelations = await waitForRelations(
        server,
        '/api/catalog/entities/by-name/resource/default/plays',
        found => found.some(r => r.type === 'hasMigration'),
      );
      expect(datasetRelations).toContainEqual({
        type: 'hasMigration',
        targetRef: 'migration:default/plays-m1',
      });
      expect(datasetRelations.map(r => r.type)).not.toContain('dependencyOf');

      // The query the dataset-migration backend uses to find consumers
      // finds nothing, while the same query on the new relation does.
      const byRelation = async (filter: string) => {
        const res = await request(server)
          .get('/api/catalog/entities/by-query')
          .query({ filter, fields: 'kind,metadata.name' });
        expect(res.status).toBe(200);
        return res.body.items;
      };
      await expect(
        byRelation('relations.dependsOn=resource:default/plays'),
      ).resolves.toEqual([]);
      await expect(
        byRelation('relations.migrationOf=resource:default/plays'),
      ).resolves.toEqual([
        { kind: 'Migration', metadata: { name: 'plays-m1' } },
      ]);
    } finally {
      await backend.stop();
    }
  });
});

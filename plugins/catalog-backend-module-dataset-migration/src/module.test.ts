import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import type { Migration } from '@internal/backstage-plugin-dataset-migration-common';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import express from 'express';
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

async function waitForEntity(
  server: Parameters<typeof request>[0],
  path: string,
): Promise<Entity> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await request(server).get(path);
    if (res.status === 200) {
      return res.body;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${path}: ${res.status}`);
    }
    await new Promise(resolve => setTimeout(resolve, 250));
  }
}

describe('catalogModuleDatasetMigration', () => {
  it('makes migrations from the backend appear in the real catalog, with relations', async () => {
    const backend = await startTestBackend({
      features: [
        catalogPlugin,
        catalogModuleDatasetMigration,
        fakeDatasetMigrationBackend,
        mockServices.rootConfig.factory({
          data: {
            catalog: {
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
      const deadline = Date.now() + 20_000;
      let relations: Entity['relations'] = [];
      while (Date.now() < deadline) {
        relations = (
          await request(server).get(
            '/api/catalog/entities/by-name/migration/default/plays-m1',
          )
        ).body.relations;
        if (relations?.length) break;
        await new Promise(resolve => setTimeout(resolve, 250));
      }
      expect(relations).toEqual(
        expect.arrayContaining([
          { type: 'dependsOn', targetRef: 'resource:default/plays' },
          { type: 'ownedBy', targetRef: 'user:default/jane' },
        ]),
      );
    } finally {
      await backend.stop();
    }
  });
});

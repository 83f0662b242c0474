import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import catalogModuleScaffolderEntityModel from '@backstage/plugin-catalog-backend-module-scaffolder-entity-model';
import scaffolderPlugin from '@backstage/plugin-scaffolder-backend';
import express from 'express';
import { resolve as resolvePath } from 'node:path';
import request from 'supertest';
import { fakeMigration } from './__testUtils__/FakeDatasetMigrationApi';
import { scaffolderModuleDatasetMigration } from './module';

// Starts the real catalog and scaffolder backends and runs a template: a few
// seconds on a loaded 2-core runner, where jest's 5 s default ran out once.
jest.setTimeout(30_000);

const TEMPLATE_PATH = resolvePath(
  __dirname,
  '../../../examples/templates/migrate-dataset/template.yaml',
);

interface ReceivedCall {
  user?: string;
  body: any;
}

/**
 * Stands in for the dataset-migration backend, behind the real auth
 * middleware, and records who called `POST /migrations` with what.
 */
function createFakeDatasetMigrationBackend(calls: ReceivedCall[]) {
  return createBackendPlugin({
    pluginId: 'dataset-migration',
    register(reg) {
      reg.registerInit({
        deps: {
          httpRouter: coreServices.httpRouter,
          httpAuth: coreServices.httpAuth,
        },
        async init({ httpRouter, httpAuth }) {
          const router = express.Router();
          router.use(express.json());
          router.post('/migrations', async (req, res) => {
            const credentials = await httpAuth.credentials(req, {
              allow: ['user'],
            });
            calls.push({
              user: credentials.principal.userEntityRef,
              body: req.body,
            });
            res.status(201).json(fakeMigration('m42', req.body));
          });
          httpRouter.use(router);
        },
      });
    },
  });
}

async function waitForTask(
  server: Parameters<typeof request>[0],
  taskId: string,
): Promise<any> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await request(server).get(`/api/scaffolder/v2/tasks/${taskId}`);
    if (['completed', 'failed', 'cancelled'].includes(res.body.status)) {
      return res.body;
    }
    if (Date.now() > deadline) {
      throw new Error(`Task ${taskId} still ${res.body.status}`);
    }
    await new Promise(r => setTimeout(r, 250));
  }
}

async function waitForTemplate(server: Parameters<typeof request>[0]) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const res = await request(server).get(
      '/api/catalog/entities/by-name/template/default/migrate-dataset',
    );
    if (res.status === 200) return;
    await new Promise(r => setTimeout(r, 250));
  }
  throw new Error('The example template never reached the catalog');
}

describe('scaffolderModuleDatasetMigration', () => {
  it('runs the example template with the real scaffolder, calling the backend as the user', async () => {
    const calls: ReceivedCall[] = [];
    const backend = await startTestBackend({
      features: [
        catalogPlugin,
        catalogModuleScaffolderEntityModel,
        scaffolderPlugin,
        scaffolderModuleDatasetMigration,
        createFakeDatasetMigrationBackend(calls),
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
              ],
            },
          },
        }),
      ],
    });

    try {
      const { server } = backend;
      const actions = await request(server).get('/api/scaffolder/v2/actions');
      expect(actions.body.map((a: { id: string }) => a.id)).toEqual(
        expect.arrayContaining([
          'dataset-migration:create',
          'dataset-migration:approve',
        ]),
      );

      await waitForTemplate(server);
      const created = await request(server)
        .post('/api/scaffolder/v2/tasks')
        .send({
          templateRef: 'template:default/migrate-dataset',
          values: {
            dataset: 'resource:default/plays-daily',
            targetLocation: 's3://archive/plays-daily',
            format: 'parquet',
            strategy: 'bulk-copy',
            autoApprove: false,
          },
        });
      expect(created.status).toBe(201);

      const task = await waitForTask(server, created.body.id);
      const events = await request(server).get(
        `/api/scaffolder/v2/tasks/${created.body.id}/events`,
      );
      const log = events.body
        .map((e: { body: { message?: string } }) => e.body.message)
        .join('\n');
      expect({ status: task.status, log }).toMatchObject({
        status: 'completed',
      });

      expect(calls).toEqual([
        {
          user: 'user:default/mock',
          body: {
            dataset: 'resource:default/plays-daily',
            target: { location: 's3://archive/plays-daily', format: 'parquet' },
            strategy: 'bulk-copy',
            options: { autoApprove: false },
          },
        },
      ]);
      expect(log).toContain(
        'Created bulk-copy migration m42 of resource:default/plays-daily to s3://archive/plays-daily; state: awaiting-approval.',
      );

      // The mapping arrives from the form's textarea as JSON text.
      const transform = await request(server)
        .post('/api/scaffolder/v2/tasks')
        .send({
          templateRef: 'template:default/migrate-dataset',
          values: {
            dataset: 'resource:default/plays-daily',
            targetLocation: 'file://examples/plays-ndjson',
            format: 'ndjson',
            strategy: 'schema-transform',
            mapping: '{"fields":[{"from":"ts","to":"played_at"}]}',
          },
        });
      expect(transform.status).toBe(201);
      expect((await waitForTask(server, transform.body.id)).status).toBe(
        'completed',
      );
      expect(calls[1].body).toMatchObject({
        strategy: 'schema-transform',
        mapping: { fields: [{ from: 'ts', to: 'played_at' }] },
      });
    } finally {
      await backend.stop();
    }
  });
});

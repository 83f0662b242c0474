import {
  mockCredentials,
  mockServices,
  startTestBackend,
  type TestBackend,
} from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import path from 'node:path';
import request from 'supertest';
import notificationsPlugin from '@backstage/plugin-notifications-backend';
import { datasetMigrationPlugin } from '../plugin';
import { waitForState } from './__testUtils__/flow';
import {
  API,
  consumerEntity,
  datasetEntity,
  makeTempRoot,
  writeFiles,
} from './__testUtils__/testBackend';

jest.setTimeout(120_000);

const mock = 'user:default/mock';
const carol = 'user:default/carol';
const dave = 'user:default/dave';

const user = (name: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'User',
  metadata: { name, namespace: 'default' },
  spec: {},
});
const group = (name: string, members: string[]): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Group',
  metadata: { name, namespace: 'default' },
  spec: { type: 'team', children: [] },
  relations: members.map(targetRef => ({ type: 'hasMember', targetRef })),
});
const ownedBy = (entity: Entity, owner: string): Entity => ({
  ...entity,
  spec: { ...entity.spec, owner },
  relations: [
    ...(entity.relations ?? []),
    { type: 'ownedBy', targetRef: owner },
  ],
});

describe('notifications through the real notifications backend', () => {
  let backend: TestBackend;
  let root: { dir: string; cleanup(): Promise<void> };

  beforeAll(async () => {
    root = await makeTempRoot('dm-notify-');
    await writeFiles(path.join(root.dir, 'plays'), {
      'part-0.csv': 'user,track\nu1,t1\n',
    });
    backend = await startTestBackend({
      features: [
        datasetMigrationPlugin,
        notificationsPlugin,
        mockServices.rootConfig.factory({
          data: {
            app: { baseUrl: 'http://localhost:3000' },
            datasetMigration: {
              workers: { pollIntervalMs: 50 },
              storage: {
                local: { roots: [{ name: 'data', path: root.dir }] },
              },
            },
          },
        }),
        catalogServiceMock.factory({
          entities: [
            user('mock'),
            user('carol'),
            user('dave'),
            group('data-platform', [mock, carol]),
            group('charts-team', [dave]),
            ownedBy(
              datasetEntity({
                name: 'plays',
                location: 'file://data/plays',
                format: 'csv',
                owner: 'group:default/data-platform',
                consumers: ['component:default/charts'],
              }),
              'group:default/data-platform',
            ),
            ownedBy(
              consumerEntity('charts', 'resource:default/plays'),
              'group:default/charts-team',
            ),
          ],
        }),
      ],
    });
  });

  afterAll(async () => {
    await backend?.stop();
    await root?.cleanup();
  });

  async function inbox(userRef: string): Promise<
    Array<{
      title: string;
      description?: string;
      link?: string;
      severity: string;
    }>
  > {
    const res = await request(backend.server)
      .get('/api/notifications/notifications')
      .set('Authorization', mockCredentials.user.header(userRef));
    expect(res.status).toBe(200);
    return res.body.notifications.map((n: any) => n.payload);
  }

  async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const value = await fn();
      if (ok(value) || Date.now() > deadline) return value;
      await new Promise(r => setTimeout(r, 100));
    }
  }

  it('tells the owners when approval is due and when it succeeded, and the consumers’ owners at cutover and rollback', async () => {
    const created = await request(backend.server)
      .post(`${API}/migrations`)
      .set('Authorization', mockCredentials.user.header(mock))
      .send({
        dataset: 'resource:default/plays',
        target: { location: 'file://data/plays-v2' },
      });
    expect(created.status).toBe(201);
    const { id } = created.body;
    const link = `/dataset-migrations/${id}`;

    // The other owner hears of it; the one who planned it does not.
    const carolInbox = await eventually(
      () => inbox(carol),
      n => n.length > 0,
    );
    expect(carolInbox).toEqual([
      expect.objectContaining({
        title: 'Migration of plays awaits approval',
        link,
        description: expect.stringMatching(
          /^mock planned moving resource:default\/plays from file:\/\/data\/plays to file:\/\/data\/plays-v2 \(1 objects, 0 overwrite\(s\), 1 consumer\(s\)\)/,
        ),
      }),
    ]);
    expect(await inbox(mock)).toEqual([]);
    expect(await inbox(dave)).toEqual([]);

    await request(backend.server)
      .post(`${API}/migrations/${id}/approve`)
      .set('Authorization', mockCredentials.user.header(mock))
      .send({})
      .expect(200);
    await waitForState(backend.server, id, ['succeeded']);
    const mockInbox = await eventually(
      () => inbox(mock),
      n => n.length > 0,
    );
    expect(mockInbox).toEqual([
      expect.objectContaining({
        title: 'Migration of plays succeeded',
        link,
        description:
          'resource:default/plays now lives at file://data/plays-v2; validation passed.',
      }),
    ]);
    const daveInbox = await eventually(
      () => inbox(dave),
      n => n.length > 0,
    );
    expect(daveInbox).toEqual([
      expect.objectContaining({
        title: 'plays, which your software reads, moved',
        severity: 'high',
        link,
      }),
    ]);

    await request(backend.server)
      .post(`${API}/migrations/${id}/rollback`)
      .set('Authorization', mockCredentials.user.header(mock))
      .send({ reason: 'consumers not ready' })
      .expect(200);
    await waitForState(backend.server, id, ['rolled-back']);
    const after = await eventually(
      () => inbox(dave),
      n => n.length > 1,
    );
    expect(after.map(n => n.title).sort()).toEqual([
      'plays, which your software reads, moved',
      'plays, which your software reads, was moved back',
    ]);
    const owners = await eventually(
      () => inbox(carol),
      n => n.length > 2,
    );
    expect(owners.map(n => n.title).sort()).toEqual([
      'Migration of plays awaits approval',
      'Migration of plays succeeded',
      'Migration of plays was rolled back',
    ]);
  });
});

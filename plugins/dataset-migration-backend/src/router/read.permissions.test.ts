import {
  mockCredentials,
  type TestBackend,
  TestDatabases,
} from '@backstage/backend-test-utils';
import path from 'node:path';
import request from 'supertest';
import {
  API,
  datasetEntity,
  makeTempRoot,
  ownerOnlyPermissions,
  type RecordedDecision,
  startPluginBackend,
  writeFiles,
} from './__testUtils__/testBackend';

jest.setTimeout(120_000);

const mock = mockCredentials.user.header();
const carol = mockCredentials.user.header('user:default/carol');
const bob = mockCredentials.user.header('user:default/bob');
const service = mockCredentials.service.header();

/*
 * Plans, events and reports name buckets, object keys and errors: who may
 * read them is the organisation's policy (`dataset-migration.migration.read`
 * on the dataset entity). Here it is owner-only, as a conditional decision
 * the way `isEntityOwner` answers, so the list is filtered per dataset.
 */
describe('reading migrations is behind the read permission', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });

  describe.each(databases.eachSupportedId())('on %p', databaseId => {
    let backend: TestBackend;
    let root: { dir: string; cleanup(): Promise<void> };
    const decisions: RecordedDecision[] = [];
    let plays: string;
    let sessions: string;

    beforeAll(async () => {
      root = await makeTempRoot();
      for (const name of ['plays', 'sessions']) {
        await writeFiles(path.join(root.dir, name), { 'a.csv': 'x\n1\n' });
      }
      backend = await startPluginBackend({
        knex: await databases.init(databaseId),
        config: {
          storage: { local: { roots: [{ name: 'data', path: root.dir }] } },
        },
        permissions: ownerOnlyPermissions({
          groups: { 'user:default/carol': ['group:default/analytics'] },
          decisions,
          ownersOnlyRead: true,
        }),
        entities: [
          datasetEntity({ name: 'plays', location: 'file://data/plays' }),
          datasetEntity({
            name: 'sessions',
            location: 'file://data/sessions',
            owner: 'analytics',
          }),
        ],
      });
      const create = async (auth: string, dataset: string) => {
        const res = await request(backend.server)
          .post(`${API}/migrations`)
          .set('Authorization', auth)
          .send({
            dataset: `resource:default/${dataset}`,
            target: { location: `file://data/out/${dataset}` },
          });
        expect(res.status).toBe(201);
        return res.body.id as string;
      };
      plays = await create(mock, 'plays');
      sessions = await create(carol, 'sessions');
    });

    afterAll(async () => {
      await backend?.stop();
      await root?.cleanup();
    });

    const get = (url: string, auth?: string) => {
      const req = request(backend.server).get(`${API}${url}`);
      return auth ? req.set('Authorization', auth) : req;
    };

    it('lists only the migrations of datasets the caller may read', async () => {
      const ids = async (auth: string) => {
        const res = await get('/migrations', auth);
        expect(res.status).toBe(200);
        return {
          ids: res.body.items.map((m: { id: string }) => m.id),
          totalCount: res.body.totalCount,
        };
      };
      expect(await ids(mock)).toEqual({ ids: [plays], totalCount: 1 });
      expect(await ids(carol)).toEqual({ ids: [sessions], totalCount: 1 });
      expect(await ids(bob)).toEqual({ ids: [], totalCount: 0 });
      // Other backends (service principals) are not subject to user policy.
      const all = await ids(service);
      expect(all.totalCount).toBe(2);
      expect([...all.ids].sort()).toEqual([plays, sessions].sort());

      // The decision was asked per dataset, for the read permission.
      expect(decisions).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            permission: 'dataset-migration.migration.read',
            resourceRef: 'resource:default/sessions',
            principal: 'user:default/bob',
          }),
        ]),
      );
    });

    it('refuses a list filtered to a dataset the caller may not read', async () => {
      const denied = await get(
        '/migrations?dataset=resource:default/plays',
        carol,
      );
      expect(denied.status).toBe(403);
      expect(denied.body.error).toMatchObject({
        name: 'NotAllowedError',
        message:
          'You are not allowed to read migrations for resource:default/plays',
      });
      const allowed = await get(
        '/migrations?dataset=resource:default/plays',
        mock,
      );
      expect(allowed.status).toBe(200);
      expect(allowed.body.totalCount).toBe(1);
    });

    it.each(['', '/events', '/report'])(
      'answers 403 on GET /migrations/:id%s to a caller who may not read it',
      async suffix => {
        const denied = await get(`/migrations/${plays}${suffix}`, bob);
        expect(denied.status).toBe(403);
        expect(denied.body.error.name).toBe('NotAllowedError');
        expect(JSON.stringify(denied.body)).not.toContain('file://');

        const unauthenticated = await get(
          `/migrations/${plays}${suffix}`,
          mockCredentials.user.invalidHeader(),
        );
        expect(unauthenticated.status).toBe(401);

        // The owner reads it (a plan has no report yet: 404 says so).
        const own = await get(`/migrations/${plays}${suffix}`, mock);
        expect(own.status).toBe(suffix === '/report' ? 404 : 200);
      },
    );
  });
});

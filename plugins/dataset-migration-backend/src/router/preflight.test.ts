import { createBackendModule } from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  TestDatabases,
  type TestBackend,
} from '@backstage/backend-test-utils';
import { NotAllowedError, ServiceUnavailableError } from '@backstage/errors';
import {
  datasetMigrationStorageExtensionPoint,
  type ObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';
import type { Knex } from 'knex';
import request from 'supertest';
import { MemoryStorage } from './__testUtils__/memoryStorage';
import {
  API,
  datasetEntity,
  startPluginBackend,
} from './__testUtils__/testBackend';

jest.setTimeout(60_000);

const owner = mockCredentials.user.header();

/** What the probe of each bucket does. */
type ProbeBehaviour = (signal?: AbortSignal) => Promise<void>;

/** The in-memory s3:// backend, with a probe per bucket. */
function probingStorage(probes: Record<string, ProbeBehaviour>) {
  const memory = new MemoryStorage();
  memory.put('s3://landing/plays/a.csv', 'u,t\n');
  const calls: string[] = [];
  const module = createBackendModule({
    pluginId: 'dataset-migration',
    moduleId: 'test-probing-storage',
    register(reg) {
      reg.registerInit({
        deps: { storage: datasetMigrationStorageExtensionPoint },
        async init({ storage }) {
          storage.addStorageBackend({
            id: 'probing',
            schemes: ['s3'],
            async open(location): Promise<ObjectStore> {
              const store = await memory.open(location);
              return {
                ...store,
                async probe(options) {
                  calls.push(location.uri);
                  await probes[location.bucket]?.(options?.signal);
                },
              };
            },
          });
        },
      });
    },
  });
  return { module, calls };
}

describe('POST /migrations probes source and target before planning', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
  let knex: Knex;
  let backend: TestBackend;
  let calls: string[];

  beforeAll(async () => {
    knex = await databases.init('SQLITE_3');
    const storage = probingStorage({
      // Never answers and ignores its signal.
      hanging: () => new Promise(() => {}),
      denied: async () => {
        throw new NotAllowedError('s3://denied/plays: access denied');
      },
      // A third-party backend that lets the SDK's error through as cause.
      leaky: async () => {
        throw new ServiceUnavailableError(
          's3://leaky/plays is unreachable',
          Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:9000'), {
            code: 'ECONNREFUSED',
            address: '10.1.2.3',
            port: 9000,
          }),
        );
      },
    });
    calls = storage.calls;
    backend = await startPluginBackend({
      knex,
      features: [storage.module],
      config: {
        storage: { local: { roots: [] } },
        timeouts: { preflightSeconds: 1 },
      },
      entities: [
        datasetEntity({ name: 'plays', location: 's3://landing/plays' }),
      ],
    });
  });

  afterAll(async () => {
    await backend?.stop();
  });

  async function create(target: string) {
    const started = Date.now();
    const res = await request(backend.server)
      .post(`${API}/migrations`)
      .set('Authorization', owner)
      .send({
        dataset: 'resource:default/plays',
        target: { location: target },
      });
    return { res, ms: Date.now() - started };
  }

  async function migrationRows() {
    const [{ count }] = await knex('dm_migrations').count({ count: '*' });
    return Number(count);
  }

  it('probes both stores and plans when they answer', async () => {
    calls.length = 0;
    const { res } = await create('s3://warehouse/plays');
    expect(res.status).toBe(201);
    expect(calls.sort()).toEqual([
      's3://landing/plays',
      's3://warehouse/plays',
    ]);
    expect(await migrationRows()).toBe(1);
    await knex('dm_events').delete();
    await knex('dm_migrations').delete();
  });

  it('answers 503 within the configured bound when the target does not answer', async () => {
    const { res, ms } = await create('s3://hanging/plays');
    expect(res.status).toBe(503);
    expect(res.body.error).toEqual({
      name: 'ServiceUnavailableError',
      message: 's3://hanging/plays did not answer within 1 s',
    });
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(3000);
    expect(await migrationRows()).toBe(0);
  });

  it("returns the probe's own 403", async () => {
    const { res } = await create('s3://denied/plays');
    expect(res.status).toBe(403);
    expect(res.body.error.message).toBe('s3://denied/plays: access denied');
    expect(await migrationRows()).toBe(0);
  });

  it('never returns the cause of a 503 (address, port, errno)', async () => {
    const { res } = await create('s3://leaky/plays');
    expect(res.status).toBe(503);
    expect(res.body.error).toEqual({
      name: 'ServiceUnavailableError',
      message: 's3://leaky/plays is unreachable',
    });
    const text = JSON.stringify(res.body);
    for (const leak of ['10.1.2.3', '9000', 'ECONNREFUSED', 'cause']) {
      expect(text).not.toContain(leak);
    }
    expect(await migrationRows()).toBe(0);
  });
});

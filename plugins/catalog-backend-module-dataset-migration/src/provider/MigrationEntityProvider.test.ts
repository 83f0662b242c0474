import { mockServices } from '@backstage/backend-test-utils';
import type {
  DeferredEntity,
  EntityProviderConnection,
  EntityProviderMutation,
} from '@backstage/plugin-catalog-node';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  ANNOTATION_MIGRATION_ID,
  Migration,
  migrationEntityV1alpha1Validator,
} from '@internal/backstage-plugin-dataset-migration-common';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { MigrationEntityProvider } from './MigrationEntityProvider';

function migration(id: string, overrides: Partial<Migration> = {}): Migration {
  return {
    id,
    dataset: 'resource:default/plays',
    source: { location: 'file:///data/plays', format: 'csv' },
    target: { location: 's3://archive/plays', format: 'parquet' },
    strategy: 'bulk-copy',
    state: 'running',
    step: 'copy',
    progress: {
      totalItems: 10,
      doneItems: 4,
      failedItems: 0,
      totalBytes: 1000,
      doneBytes: 400,
    },
    createdBy: 'user:default/jane',
    createdAt: '2026-11-21T20:00:00.000Z',
    updatedAt: '2026-11-21T20:01:00.000Z',
    ...overrides,
  };
}

/**
 * A real HTTP server speaking the `GET /migrations` contract of the
 * dataset-migration backend, recording every request it receives.
 */
class FakeMigrationsApi {
  migrations: Migration[] = [];
  failWith?: number;
  readonly requests: Array<{ url: string; authorization?: string }> = [];
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>(resolve =>
      this.server!.listen(0, '127.0.0.1', resolve),
    );
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/api/dataset-migration`;
  }

  async stop() {
    await new Promise(resolve => this.server?.close(resolve));
  }

  private handle(
    req: IncomingMessage,
    res: import('node:http').ServerResponse,
  ) {
    const url = new URL(req.url!, 'http://localhost');
    this.requests.push({
      url: `${url.pathname}${url.search}`,
      authorization: req.headers.authorization,
    });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (this.failWith) {
      send(this.failWith, {
        error: { name: 'Error', message: 'database is on fire' },
        response: { statusCode: this.failWith },
      });
      return;
    }
    if (!req.headers.authorization?.startsWith('Bearer ')) {
      send(401, {
        error: { name: 'AuthenticationError', message: 'Missing credentials' },
        response: { statusCode: 401 },
      });
      return;
    }
    if (url.pathname !== '/api/dataset-migration/migrations') {
      send(404, {
        error: { name: 'NotFoundError', message: 'Not found' },
        response: { statusCode: 404 },
      });
      return;
    }
    const limit = Number(url.searchParams.get('limit') ?? 50);
    const offset = Number(url.searchParams.get('offset') ?? 0);
    send(200, {
      items: this.migrations.slice(offset, offset + limit),
      totalCount: this.migrations.length,
    });
  }
}

describe('MigrationEntityProvider', () => {
  const api = new FakeMigrationsApi();
  let baseUrl: string;
  let logger: ReturnType<typeof mockServices.logger.mock>;
  let mutations: EntityProviderMutation[];
  let connection: EntityProviderConnection;

  beforeAll(async () => {
    baseUrl = await api.start();
  });
  afterAll(() => api.stop());

  beforeEach(() => {
    api.migrations = [];
    api.failWith = undefined;
    api.requests.length = 0;
    mutations = [];
    connection = {
      applyMutation: async mutation => {
        mutations.push(mutation);
      },
      refresh: async () => {},
    };
    logger = mockServices.logger.mock();
    logger.child.mockReturnValue(logger);
  });

  function createProvider(
    options: { pageSize?: number; withCatalog?: boolean } = {},
  ) {
    return new MigrationEntityProvider({
      discovery: mockServices.discovery.mock({
        getBaseUrl: async () => baseUrl,
      }),
      auth: mockServices.auth(),
      logger,
      scheduler: mockServices.scheduler.mock(),
      pageSize: options.pageSize,
      catalog: options.withCatalog
        ? catalogServiceMock({
            entities: [
              {
                apiVersion: 'backstage.io/v1alpha1',
                kind: 'Resource',
                metadata: { name: 'plays', namespace: 'default' },
                spec: { type: 'dataset', owner: 'group:default/analytics' },
              },
            ],
          })
        : undefined,
    });
  }

  function appliedEntities(index = mutations.length - 1): DeferredEntity[] {
    const mutation = mutations[index];
    if (mutation?.type !== 'full') {
      throw new Error(`mutation ${index} is not a full mutation`);
    }
    return mutation.entities;
  }

  it('schedules a global refresh task when connected', async () => {
    const scheduler = mockServices.scheduler.mock();
    const provider = new MigrationEntityProvider({
      discovery: mockServices.discovery(),
      auth: mockServices.auth(),
      logger,
      scheduler,
    });
    await provider.connect(connection);
    expect(scheduler.scheduleTask).toHaveBeenCalledWith(
      expect.objectContaining({
        id: 'MigrationEntityProvider:refresh',
        scope: 'global',
        frequency: { seconds: 30 },
        fn: expect.any(Function),
      }),
    );
  });

  it('maps every migration to a valid Migration entity', async () => {
    api.migrations = [
      migration('0b7e3c9a-1d2f-4e5a-9b8c-7d6e5f4a3b2c'),
      migration('m2', {
        dataset: 'api:analytics/listening-events',
        target: { location: 'gs://lake/events' },
        strategy: 'schema-transform',
        state: 'succeeded',
      }),
    ];
    const provider = createProvider();
    await provider.connect(connection);
    await expect(provider.refresh()).resolves.toBe(2);

    const [first, second] = appliedEntities();
    expect(first.locationKey).toBe('MigrationEntityProvider');
    expect(first.entity).toEqual({
      apiVersion: 'dataset-migration.io/v1alpha1',
      kind: 'Migration',
      metadata: {
        name: 'plays-0b7e3c9a-1d2f-4e5a-9b8c-7d6e5f4a3b2c',
        namespace: 'default',
        title: 'Migrate plays to s3://archive/plays',
        description: expect.stringContaining('requested by user:default/jane'),
        annotations: {
          [ANNOTATION_MIGRATION_ID]: '0b7e3c9a-1d2f-4e5a-9b8c-7d6e5f4a3b2c',
          'backstage.io/managed-by-location': `dataset-migration:${baseUrl}/migrations/0b7e3c9a-1d2f-4e5a-9b8c-7d6e5f4a3b2c`,
          'backstage.io/managed-by-origin-location': `dataset-migration:${baseUrl}/migrations/0b7e3c9a-1d2f-4e5a-9b8c-7d6e5f4a3b2c`,
        },
        tags: ['bulk-copy'],
      },
      spec: {
        source: 'resource:default/plays',
        target: { location: 's3://archive/plays', format: 'parquet' },
        strategy: 'bulk-copy',
        owner: 'user:default/jane',
      },
    });
    // Live status must never reach the catalog.
    expect(JSON.stringify(first.entity)).not.toMatch(/running|progress/);

    expect(second.entity.metadata.name).toBe('listening-events-m2');
    expect(second.entity.metadata.namespace).toBe('analytics');
    expect(second.entity.spec).toEqual({
      source: 'api:analytics/listening-events',
      target: { location: 'gs://lake/events' },
      strategy: 'schema-transform',
      owner: 'user:default/jane',
    });

    for (const { entity } of appliedEntities()) {
      await expect(
        migrationEntityV1alpha1Validator.check(entity),
      ).resolves.toBe(true);
    }
  });

  it('calls the API with a service token for the dataset-migration plugin', async () => {
    api.migrations = [migration('m1')];
    const provider = createProvider();
    await provider.connect(connection);
    await provider.refresh();

    expect(api.requests).toHaveLength(1);
    const { authorization } = api.requests[0];
    expect(authorization).toMatch(/^Bearer mock-service-token:/);
    expect(
      JSON.parse(authorization!.slice('Bearer mock-service-token:'.length)),
    ).toEqual({ sub: 'plugin:test', target: 'dataset-migration' });
  });

  it('follows pagination until totalCount is reached', async () => {
    api.migrations = Array.from({ length: 5 }, (_, i) => migration(`m${i}`));
    const provider = createProvider({ pageSize: 2 });
    await provider.connect(connection);
    await expect(provider.refresh()).resolves.toBe(5);

    expect(api.requests.map(r => r.url)).toEqual([
      '/api/dataset-migration/migrations?limit=2&offset=0',
      '/api/dataset-migration/migrations?limit=2&offset=2',
      '/api/dataset-migration/migrations?limit=2&offset=4',
    ]);
    expect(appliedEntities().map(e => e.entity.metadata.name)).toEqual([
      'plays-m0',
      'plays-m1',
      'plays-m2',
      'plays-m3',
      'plays-m4',
    ]);
  });

  it('applies an empty full mutation when the backend has no migrations', async () => {
    const provider = createProvider();
    await provider.connect(connection);
    await expect(provider.refresh()).resolves.toBe(0);
    expect(appliedEntities()).toEqual([]);
  });

  it('keeps the previous entities when the backend fails', async () => {
    api.migrations = [migration('m1')];
    const provider = createProvider();
    await provider.connect(connection);
    await provider.refresh();
    expect(mutations).toHaveLength(1);

    api.failWith = 503;
    await expect(provider.refresh()).resolves.toBeUndefined();
    expect(mutations).toHaveLength(1);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(
        /keeping the Migration entities.*database is on fire/,
      ),
    );

    api.failWith = undefined;
    api.migrations.push(migration('m2'));
    await provider.refresh();
    expect(mutations).toHaveLength(2);
    expect(appliedEntities().map(e => e.entity.metadata.name)).toEqual([
      'plays-m1',
      'plays-m2',
    ]);
  });

  it('keeps the previous entities when the backend is unreachable', async () => {
    const provider = new MigrationEntityProvider({
      discovery: mockServices.discovery.mock({
        // Port 9 (discard) on loopback: nothing listens there.
        getBaseUrl: async () => 'http://127.0.0.1:9/api/dataset-migration',
      }),
      auth: mockServices.auth(),
      logger,
      scheduler: mockServices.scheduler.mock(),
    });
    await provider.connect(connection);
    await expect(provider.refresh()).resolves.toBeUndefined();
    expect(mutations).toHaveLength(0);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(/Could not read migrations/),
    );
  });

  it('falls back to the dataset owner when a service created the migration', async () => {
    api.migrations = [
      migration('m1', { createdBy: 'plugin:scaffolder' }),
      migration('m2', {
        createdBy: 'plugin:scaffolder',
        dataset: 'resource:default/unknown',
      }),
    ];
    const provider = createProvider({ withCatalog: true });
    await provider.connect(connection);
    await provider.refresh();
    expect(appliedEntities().map(e => e.entity.spec?.owner)).toEqual([
      'group:default/analytics',
      'plugin:scaffolder',
    ]);
  });

  it('skips a migration whose dataset ref cannot be parsed', async () => {
    api.migrations = [
      migration('m1', { dataset: 'resource:/' }),
      migration('m2'),
    ];
    const provider = createProvider();
    await provider.connect(connection);
    await expect(provider.refresh()).resolves.toBe(1);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(/Skipping migration m1/),
    );
  });

  it('refuses to refresh before it is connected', async () => {
    await expect(createProvider().refresh()).rejects.toThrow(/not connected/);
  });
});

/**
 * @jest-environment node
 */
import { ResponseError } from '@backstage/errors';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../format';
import { DatasetMigrationClient } from './DatasetMigrationClient';

interface Recorded {
  method: string;
  url: string;
  contentType?: string;
  authorization?: string;
  body?: unknown;
}

type Reply = { status: number; body?: unknown; raw?: string };

const migration = {
  id: 'm-1',
  dataset: 'resource:default/plays',
  state: 'awaiting-approval',
};

/** A real HTTP server on loopback that records requests and replies as told. */
async function startServer(reply: (req: Recorded) => Reply) {
  const requests: Recorded[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const recorded: Recorded = {
      method: req.method!,
      url: req.url!,
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
      body: text ? JSON.parse(text) : undefined,
    };
    requests.push(recorded);
    const { status, body, raw } = reply(recorded);
    res.statusCode = status;
    if (raw !== undefined) {
      res.setHeader('content-type', 'text/plain');
      res.end(raw);
    } else {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    }
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    requests,
    baseUrl: `http://127.0.0.1:${port}/api/dataset-migration`,
    close: () => new Promise<void>(resolve => server.close(() => resolve())),
  };
}

function backstageError(status: number, name: string, message: string) {
  return {
    status,
    body: {
      error: { name, message },
      request: { method: 'POST', url: '/migrations' },
      response: { statusCode: status },
    },
  };
}

describe('DatasetMigrationClient', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let replyWith: (req: Recorded) => Reply;
  let client: DatasetMigrationClient;
  const discoveredPlugins: string[] = [];

  beforeAll(async () => {
    server = await startServer(req => replyWith(req));
  });
  afterAll(() => server.close());

  beforeEach(() => {
    server.requests.length = 0;
    discoveredPlugins.length = 0;
    replyWith = () => ({ status: 200, body: migration });
    client = new DatasetMigrationClient({
      discoveryApi: {
        getBaseUrl: async pluginId => {
          discoveredPlugins.push(pluginId);
          return server.baseUrl;
        },
      },
      // Stands in for the app's FetchApi, which adds the user's token.
      fetchApi: {
        fetch: (input, init) =>
          fetch(input, {
            ...init,
            headers: { ...init?.headers, authorization: 'Bearer user-token' },
          }),
      },
    });
  });

  it('creates a migration with a JSON body through the discovered base URL', async () => {
    replyWith = () => ({ status: 201, body: migration });
    const request = {
      dataset: 'resource:default/plays',
      target: { location: 's3://archive/plays', format: 'csv' as const },
      strategy: 'bulk-copy' as const,
    };

    await expect(client.createMigration(request)).resolves.toEqual(migration);

    expect(discoveredPlugins).toEqual(['dataset-migration']);
    expect(server.requests).toEqual([
      {
        method: 'POST',
        url: '/api/dataset-migration/migrations',
        contentType: 'application/json',
        authorization: 'Bearer user-token',
        body: request,
      },
    ]);
  });

  it('lists migrations with only the filters given, URL-encoded', async () => {
    replyWith = () => ({ status: 200, body: { items: [], totalCount: 0 } });

    await client.listMigrations({
      dataset: 'resource:default/plays & more',
      state: 'running',
      limit: 5,
    });
    await client.listMigrations({ owner: 'group:default/data-platform' });
    await client.listMigrations();

    expect(server.requests.map(r => r.url)).toEqual([
      '/api/dataset-migration/migrations?dataset=resource%3Adefault%2Fplays+%26+more&state=running&limit=5',
      '/api/dataset-migration/migrations?owner=group%3Adefault%2Fdata-platform',
      '/api/dataset-migration/migrations',
    ]);
    expect(server.requests[0].method).toBe('GET');
    expect(server.requests[0].body).toBeUndefined();
  });

  it('gets one migration, its events after an id, the fleet and the dataset location', async () => {
    replyWith = req => {
      if (req.url.includes('/events')) {
        return { status: 200, body: { items: [{ id: 8, message: 'copied' }] } };
      }
      if (req.url.endsWith('/fleet')) {
        return { status: 200, body: { queueDepth: 3 } };
      }
      if (req.url.includes('/datasets/location')) {
        return {
          status: 200,
          body: { entityRef: 'resource:default/plays', location: 'gs://b/p' },
        };
      }
      return { status: 200, body: migration };
    };

    await expect(client.getMigration('a/b')).resolves.toEqual(migration);
    await expect(
      client.listEvents('m-1', { after: 7, limit: 100 }),
    ).resolves.toEqual({ items: [{ id: 8, message: 'copied' }] });
    await expect(client.getFleetStatus()).resolves.toEqual({ queueDepth: 3 });
    await expect(
      client.getDatasetLocation('resource:default/plays'),
    ).resolves.toEqual({
      entityRef: 'resource:default/plays',
      location: 'gs://b/p',
    });

    expect(server.requests.map(r => `${r.method} ${r.url}`)).toEqual([
      'GET /api/dataset-migration/migrations/a%2Fb',
      'GET /api/dataset-migration/migrations/m-1/events?after=7&limit=100',
      'GET /api/dataset-migration/fleet',
      'GET /api/dataset-migration/datasets/location?entityRef=resource%3Adefault%2Fplays',
    ]);
  });

  it.each([
    ['approveMigration', 'approve'],
    ['cancelMigration', 'cancel'],
    ['rollbackMigration', 'rollback'],
    ['retryMigration', 'retry'],
  ] as const)('%s posts to /%s with the reason', async (method, action) => {
    await expect(client[method]('m-1', 'bad data')).resolves.toEqual(migration);
    await client[method]('m-1');

    expect(server.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        url: `/api/dataset-migration/migrations/m-1/${action}`,
        contentType: 'application/json',
        body: { reason: 'bad data' },
      }),
      expect.objectContaining({
        method: 'POST',
        url: `/api/dataset-migration/migrations/m-1/${action}`,
        body: {},
      }),
    ]);
  });

  it('returns no report while the API answers 404, and the report once it exists', async () => {
    replyWith = () =>
      backstageError(404, 'NotFoundError', 'migration m-1 has no report yet');
    await expect(client.getReport('m-1')).resolves.toBeUndefined();

    const report = { migrationId: 'm-1', passed: true };
    replyWith = () => ({ status: 200, body: report });
    await expect(client.getReport('m-1')).resolves.toEqual(report);
    expect(server.requests.map(r => r.url)).toEqual([
      '/api/dataset-migration/migrations/m-1/report',
      '/api/dataset-migration/migrations/m-1/report',
    ]);
  });

  it('turns a 400 into a ResponseError that carries the API message', async () => {
    replyWith = () =>
      backstageError(
        400,
        'InputError',
        "target 'file:///etc' is outside the allowed roots",
      );

    const error = await client
      .createMigration({
        dataset: 'resource:default/plays',
        target: { location: 'file:///etc' },
      })
      .catch(e => e);

    expect(error).toBeInstanceOf(ResponseError);
    expect(error.statusCode).toBe(400);
    expect(error.cause.name).toBe('InputError');
    expect(errorMessage(error)).toBe(
      "target 'file:///etc' is outside the allowed roots",
    );
  });

  it('turns other non-2xx answers, even without a JSON body, into ResponseErrors', async () => {
    replyWith = () =>
      backstageError(409, 'ConflictError', 'migration m-1 is running');
    await expect(client.rollbackMigration('m-1')).rejects.toMatchObject({
      name: 'ResponseError',
      statusCode: 409,
      cause: { message: 'migration m-1 is running' },
    });

    replyWith = () => ({ status: 502, raw: 'bad gateway' });
    await expect(client.getFleetStatus()).rejects.toMatchObject({
      name: 'ResponseError',
      statusCode: 502,
    });
    // A report 500 is an error, not a "no report yet".
    replyWith = () => backstageError(500, 'Error', 'database is down');
    await expect(client.getReport('m-1')).rejects.toMatchObject({
      statusCode: 500,
    });
  });
});

import type { Migration } from '@internal/backstage-plugin-dataset-migration-common';
import {
  createServer,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  authorization?: string;
  body: any;
}

export type Reply = { status: number; body: unknown };

/**
 * A real HTTP server on loopback speaking the dataset-migration backend's
 * `POST /migrations` and `POST /migrations/:id/approve` contract. It records
 * every request; `reply` overrides the next answers.
 */
export class FakeDatasetMigrationApi {
  readonly requests: RecordedRequest[] = [];
  reply?: (request: RecordedRequest) => Reply | undefined;
  private server?: Server;
  private created = 0;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(error => {
        res.writeHead(500);
        res.end(String(error));
      });
    });
    await new Promise<void>(resolve =>
      this.server!.listen(0, '127.0.0.1', resolve),
    );
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/api/dataset-migration`;
  }

  async stop() {
    await new Promise(resolve => this.server?.close(resolve));
  }

  reset() {
    this.requests.length = 0;
    this.reply = undefined;
    this.created = 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const request: RecordedRequest = {
      method: req.method ?? '',
      path: new URL(req.url!, 'http://localhost').pathname.replace(
        /^\/api\/dataset-migration/,
        '',
      ),
      authorization: req.headers.authorization,
      body: text ? JSON.parse(text) : undefined,
    };
    this.requests.push(request);

    const reply = this.reply?.(request) ?? this.defaultReply(request);
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(reply.body));
  }

  private defaultReply(request: RecordedRequest): Reply {
    if (!request.authorization?.startsWith('Bearer ')) {
      return errorReply(401, 'AuthenticationError', 'Missing credentials');
    }
    if (request.method === 'POST' && request.path === '/migrations') {
      this.created++;
      return {
        status: 201,
        body: fakeMigration(`m${this.created}`, request.body),
      };
    }
    const approve = request.path.match(/^\/migrations\/([^/]+)\/approve$/);
    if (request.method === 'POST' && approve) {
      return {
        status: 200,
        body: {
          ...fakeMigration(decodeURIComponent(approve[1]), {}),
          state: 'queued',
        },
      };
    }
    return errorReply(404, 'NotFoundError', `No route ${request.path}`);
  }
}

export function errorReply(
  status: number,
  name: string,
  message: string,
): Reply {
  return {
    status,
    body: { error: { name, message }, response: { statusCode: status } },
  };
}

export function fakeMigration(id: string, body: any): Migration {
  return {
    id,
    dataset: body?.dataset ?? 'resource:default/plays',
    source: { location: 'file:///data/plays', format: 'csv' },
    target: body?.target ?? { location: 's3://archive/plays' },
    strategy: body?.strategy ?? 'bulk-copy',
    state: 'awaiting-approval',
    plan: {
      source: {
        location: 'file:///data/plays',
        objectCount: 1234,
        totalBytes: 5 * 1024 ** 3,
      },
      target: body?.target ?? { location: 's3://archive/plays' },
      overwrites: { count: 3, sample: ['a.csv', 'b.csv', 'c.csv'] },
      consumers: ['component:default/charts', 'component:default/royalties'],
      snapshotHash: 'abc',
      estimatedSeconds: 720,
      warnings: [],
      createdAt: '2026-11-21T20:00:00.000Z',
    },
    progress: {
      totalItems: 1234,
      doneItems: 0,
      failedItems: 0,
      totalBytes: 5 * 1024 ** 3,
      doneBytes: 0,
    },
    createdBy: 'user:default/mock',
    createdAt: '2026-11-21T20:00:00.000Z',
    updatedAt: '2026-11-21T20:00:00.000Z',
  };
}

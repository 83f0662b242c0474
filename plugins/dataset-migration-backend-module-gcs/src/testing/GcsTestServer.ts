import http from 'node:http';
import { AddressInfo } from 'node:net';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import { ExpectedHashes, GcsTestStore } from './gcsTestStore';
import { receiveMultipartRelated } from './multipartRelated';
import { handleResumablePut, ResumableSession } from './resumable';
import { GcsHttpError, header, readAll, sendJson } from './http';
import { objectsPage } from './listing';
import { sendObject } from './download';

export interface GcsTestServerOptions {
  /** Buckets that exist from the start. */
  buckets?: string[];
  /** Rewrite at most this many bytes per rewriteTo call (default: all). */
  rewriteChunkBytes?: number;
}

/** Counters the tests use to prove which protocol path a client took. */
export interface GcsTestServerStats {
  uploads: Record<'media' | 'multipart' | 'resumable', number>;
  resumableChunks: number;
  /**
   * Resumable uploads finalised by re-reading their file: the hashes kept
   * as bytes arrived did not cover exactly the object.
   */
  resumableRehashed: number;
  rewriteCalls: number;
  listCalls: number;
}

/**
 * A small GCS JSON API server (the subset `@google-cloud/storage` uses for
 * objects) on a free loopback port, storing data in a temp dir. No GCS
 * emulator can be installed here; this one is tested against the real client.
 */
export class GcsTestServer {
  readonly store: GcsTestStore;
  readonly stats: GcsTestServerStats = {
    uploads: { media: 0, multipart: 0, resumable: 0 },
    resumableChunks: 0,
    resumableRehashed: 0,
    rewriteCalls: 0,
    listCalls: 0,
  };
  /**
   * Misbehaviour seen in the field, switched on by tests: finalise a
   * resumable upload on its first chunk (the object holds only that chunk).
   */
  readonly faults = { finalizeResumableOnFirstChunk: false };
  readonly #sessions = new Map<string, ResumableSession>();
  readonly #rewrites = new Map<string, number>();
  readonly #server: http.Server;
  readonly #options: GcsTestServerOptions;

  static async start(options: GcsTestServerOptions = {}) {
    const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'gcs-test-'));
    const server = new GcsTestServer(directory, options);
    await new Promise<void>(resolve =>
      server.#server.listen(0, '127.0.0.1', resolve),
    );
    server.store.mediaBase = server.endpoint;
    return server;
  }

  private constructor(directory: string, options: GcsTestServerOptions) {
    this.#options = options;
    this.store = new GcsTestStore(directory);
    for (const bucket of options.buckets ?? []) {
      this.store.createBucket(bucket);
    }
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch(error => {
        const status = error instanceof GcsHttpError ? error.status : 500;
        if (!res.headersSent && !res.destroyed) {
          sendJson(res, status, {
            error: {
              code: status,
              message: String(error.message),
              errors: [
                {
                  message: String(error.message),
                  reason: (error as GcsHttpError).reason ?? 'backendError',
                },
              ],
            },
          });
        } else {
          res.destroy();
        }
        req.resume();
      });
    });
  }

  get port() {
    return (this.#server.address() as AddressInfo).port;
  }

  get endpoint() {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop() {
    this.#server.closeAllConnections();
    await new Promise(resolve => this.#server.close(resolve));
    await fs.rm(this.store.directory, { recursive: true, force: true });
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const q = url.searchParams;
    // Downloads by an object's mediaLink: GCS serves them under /download.
    const p = url.pathname.replace(/^\/download(?=\/storage\/v1\/)/, '');
    const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(p);
    const objects = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(p);
    const rewrite =
      /^\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)\/rewriteTo\/b\/([^/]+)\/o\/([^/]+)$/.exec(
        p,
      );
    const object = /^\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)$/.exec(p);
    const bucketPath = /^\/storage\/v1\/b\/([^/]+)$/.exec(p);
    let m = upload;

    if (m) {
      const bucket = this.#bucket(m[1]);
      // Session requests: clients PUT, Go's googleapi POSTs.
      if (
        q.get('upload_id') &&
        (req.method === 'PUT' || req.method === 'POST')
      ) {
        const session = this.#sessions.get(q.get('upload_id')!);
        if (!session) {
          throw new GcsHttpError(404, 'No such upload session', 'notFound');
        }
        this.stats.resumableChunks++;
        const resource = await handleResumablePut(
          req,
          res,
          session,
          (expected, hashed) => {
            if (!hashed) this.stats.resumableRehashed++;
            return this.store.commit(
              session.bucket,
              session.name,
              session.file,
              session.contentType,
              expected,
              hashed,
            );
          },
          { finalizeEarly: this.faults.finalizeResumableOnFirstChunk },
        );
        if (resource) {
          this.#sessions.delete(session.id);
        }
        return undefined;
      }
      if (req.method === 'POST') {
        return this.#insert(req, res, bucket, q);
      }
    }

    m = objects;
    if (m && req.method === 'GET') {
      return this.#list(res, this.#bucket(m[1]), q);
    }

    m = rewrite;
    if (m && req.method === 'POST') {
      req.resume();
      return this.#rewrite(
        res,
        this.#bucket(m[1]),
        decodeURIComponent(m[2]),
        this.#bucket(m[3]),
        decodeURIComponent(m[4]),
        q.get('rewriteToken') ?? undefined,
      );
    }

    m = object;
    if (m) {
      const bucket = this.#bucket(m[1]);
      const name = decodeURIComponent(m[2]);
      const stored = this.store.get(bucket, name);
      if (req.method === 'DELETE') {
        if (!(await this.store.delete(bucket, name))) {
          throw new GcsHttpError(
            404,
            `No such object: ${bucket}/${name}`,
            'notFound',
          );
        }
        res.writeHead(204).end();
        return undefined;
      }
      if (req.method === 'GET') {
        if (!stored) {
          throw new GcsHttpError(
            404,
            `No such object: ${bucket}/${name}`,
            'notFound',
          );
        }
        if (
          q.get('generation') &&
          q.get('generation') !== stored.resource.generation
        ) {
          throw new GcsHttpError(
            404,
            `No such object: ${bucket}/${name}#${q.get('generation')}`,
            'notFound',
          );
        }
        if (q.get('alt') === 'media') {
          return sendObject(req, res, stored.resource, stored.file);
        }
        return sendJson(res, 200, stored.resource);
      }
    }

    m = bucketPath;
    if (m && req.method === 'GET') {
      const name = this.#bucket(m[1]);
      return sendJson(res, 200, { kind: 'storage#bucket', id: name, name });
    }
    if (p === '/storage/v1/b' && req.method === 'POST') {
      const body = JSON.parse((await readAll(req)).toString() || '{}');
      if (!this.store.createBucket(body.name)) {
        throw new GcsHttpError(409, 'Bucket already exists', 'conflict');
      }
      return sendJson(res, 200, {
        kind: 'storage#bucket',
        id: body.name,
        name: body.name,
      });
    }
    throw new GcsHttpError(
      400,
      `Unsupported by the test server: ${req.method} ${p}`,
    );
  }

  #bucket(encoded: string) {
    const name = decodeURIComponent(encoded);
    if (!this.store.hasBucket(name)) {
      throw new GcsHttpError(
        404,
        `The specified bucket does not exist: ${name}`,
        'notFound',
      );
    }
    return name;
  }

  async #insert(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    bucket: string,
    q: URLSearchParams,
  ) {
    const uploadType = q.get('uploadType');
    if (uploadType === 'resumable') {
      this.stats.uploads.resumable++;
      const body = JSON.parse((await readAll(req)).toString() || '{}');
      const name = q.get('name') ?? body.name;
      if (!name) {
        throw new GcsHttpError(400, 'Object name is required', 'required');
      }
      const id = randomUUID();
      const file = await this.store.newDataFile();
      await fs.writeFile(file, '');
      this.#sessions.set(id, {
        id,
        bucket,
        name,
        file,
        contentType: body.contentType ?? header(req, 'x-upload-content-type'),
        committed: 0,
      });
      const host = req.headers.host ?? `127.0.0.1:${this.port}`;
      res.setHeader(
        'Location',
        `http://${host}/upload/storage/v1/b/${encodeURIComponent(
          bucket,
        )}/o?uploadType=resumable&name=${encodeURIComponent(
          name,
        )}&upload_id=${id}`,
      );
      return sendJson(res, 200, {});
    }
    const file = await this.store.newDataFile();
    try {
      let name = q.get('name') ?? undefined;
      let contentType = header(req, 'content-type');
      let expected: ExpectedHashes | undefined;
      if (uploadType === 'multipart') {
        this.stats.uploads.multipart++;
        const boundary = /boundary="?([^";]+)"?/.exec(contentType ?? '')?.[1];
        if (!boundary) {
          throw new GcsHttpError(400, 'multipart upload without boundary');
        }
        const parsed = await receiveMultipartRelated(req, boundary, file);
        name = (parsed.metadata.name as string | undefined) ?? name;
        contentType =
          (parsed.metadata.contentType as string | undefined) ??
          parsed.contentType;
        // Checksums in the metadata are checked against the bytes, as GCS
        // does: other bytes are refused (400) and nothing is stored.
        const { crc32c, md5Hash } = parsed.metadata as Record<string, unknown>;
        expected = {
          ...(typeof crc32c === 'string' && { crc32c }),
          ...(typeof md5Hash === 'string' && { md5: md5Hash }),
        };
      } else if (uploadType === 'media') {
        this.stats.uploads.media++;
        await pipeline(req, createWriteStream(file));
      } else {
        throw new GcsHttpError(400, `Unknown uploadType ${uploadType}`);
      }
      if (!name) {
        throw new GcsHttpError(400, 'Object name is required', 'required');
      }
      const resource = await this.store.commit(
        bucket,
        name,
        file,
        contentType,
        expected,
      );
      return sendJson(res, 200, resource);
    } catch (e) {
      await fs.rm(file, { force: true });
      throw e;
    }
  }

  #list(res: http.ServerResponse, bucket: string, q: URLSearchParams) {
    this.stats.listCalls++;
    return sendJson(res, 200, objectsPage(this.store, bucket, q));
  }

  async #rewrite(
    res: http.ServerResponse,
    srcBucket: string,
    srcName: string,
    dstBucket: string,
    dstName: string,
    token: string | undefined,
  ) {
    this.stats.rewriteCalls++;
    const source = this.store.get(srcBucket, srcName);
    if (!source) {
      throw new GcsHttpError(
        404,
        `No such object: ${srcBucket}/${srcName}`,
        'notFound',
      );
    }
    const size = Number(source.resource.size);
    // A token remembers progress, like GCS does for large or cross-location rewrites.
    const done =
      (token ? this.#rewrites.get(token) ?? 0 : 0) +
      (this.#options.rewriteChunkBytes ?? size);
    if (done < size) {
      const next = randomUUID();
      this.#rewrites.set(next, done);
      return sendJson(res, 200, {
        kind: 'storage#rewriteResponse',
        totalBytesRewritten: String(done),
        objectSize: String(size),
        done: false,
        rewriteToken: next,
      });
    }
    const file = await this.store.newDataFile();
    await fs.copyFile(source.file, file);
    const resource = await this.store.commit(
      dstBucket,
      dstName,
      file,
      source.resource.contentType,
    );
    return sendJson(res, 200, {
      kind: 'storage#rewriteResponse',
      totalBytesRewritten: String(size),
      objectSize: String(size),
      done: true,
      resource,
    });
  }
}

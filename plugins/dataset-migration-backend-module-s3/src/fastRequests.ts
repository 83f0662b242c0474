import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { resolveParams } from '@smithy/core/endpoints';
import {
  extendedEncodeURIComponent,
  HttpRequest,
} from '@smithy/core/protocols';
import {
  isClockSkewError,
  isServerError,
  isThrottlingError,
  isTransientError,
} from '@smithy/core/retry';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import { crc32cBase64 } from './uploadPart';
import { bodyForSocket, payloadHash } from './unsignedPayload';
import {
  errorFromBody,
  errorFromText,
  readSmallBody,
  S3ResponseError,
  verifying,
} from './fastResponses';

export { S3ResponseError };

/** SHA-256 of an empty payload: what a signed GET declares. */
const EMPTY_SHA256 =
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Where and how requests for one bucket go, as the SDK resolves it. */
interface BucketRoute {
  protocol: string;
  hostname: string;
  port?: number;
  host: string;
  basePath: string;
  signer: SignatureV4;
}

/** What S3 answered: status, lower-cased headers and the body. */
export interface FastResponse {
  statusCode: number;
  headers: Record<string, string | undefined>;
  body: Readable;
}

/** What a PutObject or CopyObject answered, named as the SDK names it. */
export interface FastPutResult {
  ETag?: string;
  ChecksumCRC32C?: string;
  ChecksumSHA256?: string;
  ChecksumType?: string;
}

/** What a HeadObject answered, named as the SDK names it. */
export interface FastHeadResult extends FastPutResult {
  ContentLength?: number;
  LastModified?: Date;
}

interface FastRequest {
  method: 'GET' | 'HEAD' | 'PUT';
  headers: Record<string, string>;
  body?: Buffer;
  signal?: AbortSignal;
}

function retryErrorType(error: any) {
  if (isThrottlingError(error)) return 'THROTTLING' as const;
  if (isTransientError(error)) return 'TRANSIENT' as const;
  if (isServerError(error)) return 'SERVER_ERROR' as const;
  return 'CLIENT_ERROR' as const;
}

/**
 * Small-object requests without the SDK's middleware stack: GetObject,
 * HeadObject, a single-part PutObject and CopyObject are built and signed (SigV4, the
 * SDK's own signer and credentials) and sent through the client's own
 * request handler, so sockets, timeouts and TLS settings are the client's.
 * The endpoint is what the SDK's rules resolve for the bucket; buckets it
 * does not sign with plain SigV4 (S3 Express, multi-region access points)
 * or that need extra headers go through the SDK instead (`undefined`).
 * Failures before the body are retried with the client's retry strategy,
 * a clock skew is corrected as the SDK does, and a full-object checksum S3
 * sends with a GET is checked. Errors are S3ResponseError (an S3 error
 * answer, shaped like the SDK's) or the handler's (no answer).
 *
 * Why: a small GET through the SDK costs 0.6–1 ms of main-thread CPU in its
 * middleware (serde, endpoint rules, auth, retry, logging), this ~0.2 ms
 * (bench/run-s3-get-cpu.sh). Small-object copies are bound by that thread.
 */
export class FastRequests {
  readonly #client: S3Client;
  readonly #routes = new Map<string, Promise<BucketRoute | undefined>>();

  constructor(client: S3Client) {
    this.#client = client;
  }

  /** GetObject, whole or a range (`bytes=a-b`). */
  async get(
    bucket: string,
    key: string,
    options: { range?: string; describe: string },
  ): Promise<FastResponse | undefined> {
    const headers: Record<string, string> = {
      'x-amz-content-sha256': EMPTY_SHA256,
      'x-amz-checksum-mode': 'ENABLED',
    };
    if (options.range) {
      headers.range = options.range;
    }
    const response = await this.#request(bucket, key, {
      method: 'GET',
      headers,
    });
    if (!response || options.range) {
      return response;
    }
    const check = verifying(response.headers, options.describe);
    if (!check) {
      return response;
    }
    response.body.on('error', e => check.destroy(e));
    return { ...response, body: response.body.pipe(check) };
  }

  /** HeadObject, asking for the object's checksums; its body is empty. */
  async head(bucket: string, key: string): Promise<FastHeadResult | undefined> {
    const response = await this.#request(bucket, key, {
      method: 'HEAD',
      headers: {
        'x-amz-content-sha256': EMPTY_SHA256,
        'x-amz-checksum-mode': 'ENABLED',
      },
    });
    if (!response) {
      return undefined;
    }
    response.body.resume();
    const { headers } = response;
    const modified = headers['last-modified'];
    return {
      ...putResult(headers),
      ContentLength: Number(headers['content-length'] ?? 0),
      LastModified: modified ? new Date(modified) : undefined,
    };
  }

  /**
   * PutObject of a body in memory, its CRC32C or SHA-256 declared for S3 to
   * check and keep; its payload signed too, except over HTTPS with a
   * checksum declared (unsignedPayload.ts).
   */
  async put(
    bucket: string,
    key: string,
    body: Buffer,
    options: {
      contentType?: string;
      checksumAlgorithm?: 'CRC32C' | 'SHA256';
      signal?: AbortSignal;
    },
  ): Promise<FastPutResult | undefined> {
    // x-amz-content-sha256 is set where the route is known (#send): the
    // body's SHA-256, or unsigned over HTTPS with a checksum declared.
    const headers: Record<string, string> = {
      'content-length': String(body.length),
    };
    if (options.contentType) {
      headers['content-type'] = options.contentType;
    }
    if (options.checksumAlgorithm === 'CRC32C') {
      headers['x-amz-checksum-crc32c'] = crc32cBase64(body);
    } else if (options.checksumAlgorithm === 'SHA256') {
      const sha256 = createHash('sha256').update(body).digest();
      headers['x-amz-checksum-sha256'] = sha256.toString('base64');
      headers['x-amz-content-sha256'] = sha256.toString('hex');
    }
    const response = await this.#request(bucket, key, {
      method: 'PUT',
      headers,
      body,
      signal: options.signal,
    });
    if (!response) {
      return undefined;
    }
    response.body.resume();
    return putResult(response.headers);
  }

  /**
   * CopyObject from `copySource` (`bucket/key`, URL-encoded), the copy
   * checksummed with `checksumAlgorithm` as a write would be.
   */
  async copy(
    bucket: string,
    key: string,
    copySource: string,
    options: { checksumAlgorithm?: 'CRC32C' | 'SHA256' },
  ): Promise<FastPutResult | undefined> {
    const headers: Record<string, string> = {
      'x-amz-content-sha256': EMPTY_SHA256,
      'x-amz-copy-source': copySource,
    };
    if (options.checksumAlgorithm) {
      headers['x-amz-checksum-algorithm'] = options.checksumAlgorithm;
    }
    const response = await this.#request(bucket, key, {
      method: 'PUT',
      headers,
    });
    if (!response) {
      return undefined;
    }
    const text = await readSmallBody(response.body);
    // CopyObject may answer 200 and still fail, with an <Error> body.
    if (/<Error>/.test(text)) {
      throw errorFromText(500, text);
    }
    const field = (name: string) =>
      new RegExp(`<${name}>([^<]*)</${name}>`)
        .exec(text)?.[1]
        ?.replace(/&quot;/g, '"')
        .replace(/&#34;/g, '"');
    return {
      ETag: field('ETag'),
      ChecksumCRC32C: field('ChecksumCRC32C'),
      ChecksumSHA256: field('ChecksumSHA256'),
      ChecksumType: field('ChecksumType'),
    };
  }

  async #request(
    bucket: string,
    key: string,
    request: FastRequest,
  ): Promise<FastResponse | undefined> {
    let route = this.#routes.get(bucket);
    if (!route) {
      route = this.#route(bucket, key);
      this.#routes.set(bucket, route);
    }
    const resolved = await route;
    return resolved && this.#send(resolved, key, request);
  }

  async #route(bucket: string, key: string): Promise<BucketRoute | undefined> {
    const config = this.#client.config as any;
    let endpoint;
    try {
      const params = await resolveParams(
        { Bucket: bucket, Key: key },
        GetObjectCommand as any,
        config,
      );
      endpoint = await config.endpointProvider(params);
    } catch {
      // The SDK path reports what is wrong with the bucket.
      return undefined;
    }
    const schemes = endpoint.properties?.authSchemes ?? [];
    const scheme = schemes[0];
    const url: URL = endpoint.url;
    if (
      scheme?.name !== 'sigv4' ||
      Object.keys(endpoint.headers ?? {}).length > 0 ||
      url.search ||
      url.username
    ) {
      return undefined;
    }
    const region = scheme.signingRegion ?? (await config.region());
    return {
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port ? Number(url.port) : undefined,
      host: url.host,
      basePath: url.pathname.replace(/\/+$/, ''),
      signer: new SignatureV4({
        credentials: config.credentials,
        region,
        service: scheme.signingName ?? 's3',
        sha256: Hash.bind(null, 'sha256') as any,
        uriEscapePath: !scheme.disableDoubleEncoding,
        applyChecksum: false,
      }),
    };
  }

  async #send(
    route: BucketRoute,
    key: string,
    { method, headers: given, body, signal }: FastRequest,
  ): Promise<FastResponse> {
    // A body's payload hash is set here, where the route's protocol is known.
    const headers =
      body && given['x-amz-content-sha256'] === undefined
        ? {
            ...given,
            'x-amz-content-sha256': payloadHash(route.protocol, given, body),
          }
        : given;
    const config = this.#client.config as any;
    const strategy = await config.retryStrategy();
    let token = await strategy.acquireInitialRetryToken('');
    const path = `${route.basePath}/${key
      .split('/')
      .map(extendedEncodeURIComponent)
      .join('/')}`;
    for (;;) {
      const request = new HttpRequest({
        protocol: route.protocol,
        hostname: route.hostname,
        port: route.port,
        method,
        path,
        headers: { ...headers, host: route.host },
        body: body && bodyForSocket(headers, body),
      });
      let error: any;
      try {
        const signed = await route.signer.sign(request, {
          signingDate: new Date(Date.now() + (config.systemClockOffset ?? 0)),
        });
        const { response } = await config.requestHandler.handle(signed, {
          abortSignal: signal,
        });
        const status: number = response.statusCode;
        const answer = response.body as IncomingMessage | undefined;
        if (status === 200 || status === 206) {
          strategy.recordSuccess(token);
          return {
            statusCode: status,
            headers: response.headers,
            body: answer ?? Readable.from([]),
          };
        }
        error = await errorFromBody(status, answer);
        const serverTime = Date.parse(response.headers.date ?? '');
        if (isClockSkewError(error) && serverTime) {
          // As the SDK does: sign with the server's clock from now on, and
          // retry this request (a corrected skew counts as transient).
          const offset = serverTime - Date.now();
          const previous = config.systemClockOffset ?? 0;
          config.systemClockOffset = offset;
          (error.$metadata as any).clockSkewCorrected =
            Math.abs(offset - previous) > 60_000;
        }
      } catch (e) {
        error = e;
        // The SDK marks a request that never got an answer this way.
        error.$metadata ??= {};
      }
      if (signal?.aborted) {
        throw error;
      }
      try {
        token = await strategy.refreshRetryTokenForRetry(token, {
          error,
          errorType: retryErrorType(error),
        });
      } catch {
        throw error;
      }
      await sleep(token.getRetryDelay(), undefined, { signal });
    }
  }
}

function putResult(headers: Record<string, string | undefined>): FastPutResult {
  return {
    ETag: headers.etag,
    ChecksumCRC32C: headers['x-amz-checksum-crc32c'],
    ChecksumSHA256: headers['x-amz-checksum-sha256'],
    ChecksumType: headers['x-amz-checksum-type'],
  };
}

import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable, Transform } from 'node:stream';
import { crc32 } from 'node:zlib';
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
import {
  base64ToHex,
  crc32c,
  RetryableUnavailableError,
} from '@internal/backstage-plugin-dataset-migration-node';

/** SHA-256 of an empty payload: what a signed GET declares. */
const EMPTY_SHA256 =
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Where and how GETs of one bucket go, as the SDK resolves it. */
interface BucketRoute {
  protocol: string;
  hostname: string;
  port?: number;
  host: string;
  basePath: string;
  signer: SignatureV4;
}

/** What a GET answered: status, lower-cased headers and the body. */
export interface FastGetResponse {
  statusCode: number;
  headers: Record<string, string | undefined>;
  body: Readable;
}

/** An S3 error answer, shaped like the SDK's so `toS3Error` maps it alike. */
export class S3ResponseError extends Error {
  readonly $metadata: { httpStatusCode?: number };
  readonly $fault: 'client' | 'server';

  constructor(name: string, message: string, status: number) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
    this.$fault = status >= 500 ? 'server' : 'client';
  }
}

/** The error code and message of an S3 XML error body. */
async function errorFromBody(
  status: number,
  body: Readable | undefined,
): Promise<S3ResponseError> {
  let text = '';
  if (body) {
    for await (const chunk of body) {
      // Error documents are small; never hold more than 64 KiB of one.
      if (text.length < 65536) {
        text += chunk.toString();
      }
    }
  }
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '';
  const fallback: Record<number, string> = { 403: 'Forbidden', 404: 'NotFound' };
  return new S3ResponseError(
    code ?? fallback[status] ?? 'Unknown',
    message,
    status,
  );
}

function retryErrorType(error: any) {
  if (isThrottlingError(error)) return 'THROTTLING' as const;
  if (isTransientError(error)) return 'TRANSIENT' as const;
  if (isServerError(error)) return 'SERVER_ERROR' as const;
  return 'CLIENT_ERROR' as const;
}

/**
 * Fails the stream at its end when its bytes do not hash to the full-object
 * checksum S3 sent (what the SDK's response validation does).
 */
function verifying(
  headers: Record<string, string | undefined>,
  describe: string,
): Transform | undefined {
  if (headers['x-amz-checksum-type'] === 'COMPOSITE') {
    return undefined;
  }
  const checks = [
    { header: 'crc32c', name: 'CRC32C', make: () => crcOf(crc32c) },
    { header: 'crc32', name: 'CRC32', make: () => crcOf(crc32) },
    { header: 'sha256', name: 'SHA-256', make: sha256Of },
  ];
  for (const { header, name, make } of checks) {
    const sent = headers[`x-amz-checksum-${header}`];
    // `…-N`: a checksum of part checksums, not of the bytes.
    if (sent && !sent.includes('-')) {
      return checkedAgainst(base64ToHex(sent), name, make(), describe);
    }
  }
  return undefined;
}

interface Digester {
  update(chunk: Buffer): void;
  digest(): string;
}

function crcOf(fn: (data: Buffer, value?: number) => number): Digester {
  let crc = 0;
  return {
    update: chunk => {
      crc = fn(chunk, crc);
    },
    digest: () => (crc >>> 0).toString(16).padStart(8, '0'),
  };
}

function sha256Of(): Digester {
  const hash = createHash('sha256');
  return {
    update: chunk => hash.update(chunk),
    digest: () => hash.digest('hex'),
  };
}

function checkedAgainst(
  want: string,
  name: string,
  { update, digest }: Digester,
  describe: string,
): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      const got = digest();
      callback(
        got === want
          ? null
          : new RetryableUnavailableError(
              `${describe}: checksum mismatch, the bytes received hash to ${name} ${got} but S3 stored ${want}`,
            ),
      );
    },
  });
}

/**
 * GETs without the SDK's middleware stack: the request is built and signed
 * (SigV4, the SDK's own signer and credentials) and sent through the
 * client's own request handler, so sockets, timeouts and TLS settings are
 * the client's. The endpoint is what the SDK's rules resolve for the bucket;
 * buckets it does not sign with plain SigV4 (S3 Express, multi-region access
 * points) or that need extra headers are read through the SDK instead.
 * Failures before the body are retried with the client's retry strategy,
 * and a full-object checksum S3 sends is checked, as the SDK does.
 *
 * Why: a small GET through the SDK costs 0.6–1 ms of main-thread CPU in its
 * middleware (serde, endpoint rules, auth, retry, logging), this ~0.2 ms
 * (bench/run-s3-get-cpu.sh). Small-object copies are bound by that thread.
 */
export class FastGet {
  readonly #client: S3Client;
  readonly #routes = new Map<string, Promise<BucketRoute | undefined>>();

  constructor(client: S3Client) {
    this.#client = client;
  }

  /**
   * Sends a GET, or answers undefined when this bucket must go through the
   * SDK. Errors are S3ResponseError (an S3 error answer) or the handler's
   * (connection failures), both after the client's retries.
   */
  async get(
    bucket: string,
    key: string,
    options: { range?: string; describe: string },
  ): Promise<FastGetResponse | undefined> {
    let route = this.#routes.get(bucket);
    if (!route) {
      route = this.#route(bucket, key);
      this.#routes.set(bucket, route);
    }
    const resolved = await route;
    if (!resolved) {
      return undefined;
    }
    const response = await this.#send(resolved, key, options.range);
    const body = response.body;
    if (options.range || response.statusCode !== 200) {
      return response;
    }
    const check = verifying(response.headers, options.describe);
    if (!check) {
      return response;
    }
    body.on('error', e => check.destroy(e));
    return { ...response, body: body.pipe(check) };
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
    range: string | undefined,
  ): Promise<FastGetResponse> {
    const config = this.#client.config as any;
    const strategy = await config.retryStrategy();
    let token = await strategy.acquireInitialRetryToken('');
    const path = `${route.basePath}/${key
      .split('/')
      .map(extendedEncodeURIComponent)
      .join('/')}`;
    for (;;) {
      const headers: Record<string, string> = {
        host: route.host,
        'x-amz-content-sha256': EMPTY_SHA256,
        'x-amz-checksum-mode': 'ENABLED',
      };
      if (range) {
        headers.range = range;
      }
      const request = new HttpRequest({
        protocol: route.protocol,
        hostname: route.hostname,
        port: route.port,
        method: 'GET',
        path,
        headers,
      });
      let error: any;
      try {
        const signed = await route.signer.sign(request, {
          signingDate: new Date(Date.now() + (config.systemClockOffset ?? 0)),
        });
        const { response } = await config.requestHandler.handle(signed);
        const status: number = response.statusCode;
        const body = response.body as IncomingMessage | undefined;
        if (status === 200 || status === 206) {
          strategy.recordSuccess(token);
          return {
            statusCode: status,
            headers: response.headers,
            body: body ?? Readable.from([]),
          };
        }
        error = await errorFromBody(status, body);
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
      try {
        token = await strategy.refreshRetryTokenForRetry(token, {
          error,
          errorType: retryErrorType(error),
        });
      } catch {
        throw error;
      }
      const delay = token.getRetryDelay();
      if (delay > 0) {
        await new Promise(resolve => setTimeout(resolve, delay));
      }
    }
  }
}

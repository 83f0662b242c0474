import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { crc32 } from 'node:zlib';
import {
  base64ToHex,
  crc32c,
  RetryableUnavailableError,
} from '@internal/backstage-plugin-dataset-migration-node';

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

/** A small answer's body as text; never holds more than 64 KiB of it. */
export async function readSmallBody(body: Readable | undefined) {
  let text = '';
  if (body) {
    for await (const chunk of body) {
      if (text.length < 65536) {
        text += chunk.toString();
      }
    }
  }
  return text;
}

/** The error code and message of an S3 XML error body. */
export async function errorFromBody(
  status: number,
  body: Readable | undefined,
): Promise<S3ResponseError> {
  return errorFromText(status, await readSmallBody(body));
}

/** The error code and message of an S3 XML error document. */
export function errorFromText(status: number, text: string): S3ResponseError {
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '';
  const fallback: Record<number, string> = {
    403: 'Forbidden',
    404: 'NotFound',
  };
  return new S3ResponseError(
    code ?? fallback[status] ?? 'Unknown',
    message,
    status,
  );
}

/**
 * Fails the stream at its end when its bytes do not hash to the full-object
 * checksum S3 sent (what the SDK's response validation does).
 */
export function verifying(
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

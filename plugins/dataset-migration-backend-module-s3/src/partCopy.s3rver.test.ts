import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { NotFoundError } from '@backstage/errors';
import {
  FaultProxy,
  startFaultProxy,
} from '@internal/backstage-plugin-dataset-migration-backend-module-gcs/testUtils';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { crc32c } from '@internal/backstage-plugin-dataset-migration-node';
import { S3StorageBackend } from './S3StorageBackend';
import { S3ObjectStore } from './S3ObjectStore';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { s3Config } from './__testUtils__/helpers';
import { s3rverStoredNames } from './__testUtils__/s3rverNames';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;
const P = 5 * MiB;
const SRC = 'pc-src';
const DST = 'pc-dst';
/** Over two 5 MiB parts: copied in 3 part copies, the last one short. */
const BIG_BYTES = 12 * MiB + 123;

const hex = (data: Buffer) => crc32c(data).toString(16).padStart(8, '0');
const base64 = (data: Buffer) =>
  Buffer.from(hex(data), 'hex').toString('base64');
const sha256 = (data: Buffer) =>
  createHash('sha256').update(data).digest('base64');

/** What the client sent to s3rver, one line per request. */
interface Seen {
  method: string;
  bucket: string;
  key: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Server-side copies of objects above `multipartCopyThresholdMiB` (5 MiB
 * here) go through UploadPartCopy (s3rverPartCopy.js emulates it as S3 does)
 * into a multipart upload that names the configured checksum, so that S3
 * keeps the copy's full-object CRC32C. Every value is computed here from
 * the bytes.
 */
describe('copyWithin above the multipart copy threshold (UploadPartCopy)', () => {
  let s3rver: S3rverProcess;
  let proxy: FaultProxy;
  let seen: Seen[] = [];
  const backends: S3StorageBackend[] = [];
  let big: Buffer;

  /** A backend through the counting proxy; its stores of SRC and DST. */
  async function open(extra: object = {}) {
    const backend = S3StorageBackend.fromConfig(
      s3Config(proxy.endpoint, {
        partSizeMiB: 5,
        multipartCopyThresholdMiB: 5,
        ...extra,
      }),
    );
    backends.push(backend);
    const store = async (uri: string) =>
      (await backend.open(parseLocation(uri))) as S3ObjectStore;
    return {
      backend,
      src: await store(`s3://${SRC}/data`),
      dst: await store(`s3://${DST}/copies`),
    };
  }

  /** The part copies sent, as `partNumber range`. */
  const partCopies = () =>
    seen
      .filter(r => r.method === 'PUT' && r.headers['x-amz-copy-source'])
      .map(
        r =>
          `${r.query.get('partNumber')} ${
            r.headers['x-amz-copy-source-range']
          }`,
      );
  /** Requests that moved the object's bytes through the client. */
  const streamed = () =>
    seen.filter(
      r =>
        (r.method === 'GET' && r.bucket === SRC && r.key) ||
        (r.method === 'PUT' &&
          r.query.has('partNumber') &&
          !r.headers['x-amz-copy-source']),
    );

  beforeAll(async () => {
    s3rver = await startS3rver({ buckets: [SRC, DST] });
    proxy = await startFaultProxy(s3rver.endpoint);
    big = randomBytes(BIG_BYTES);
    const { src } = await open({ partSizeMiB: 16 });
    await src.write('big.bin', Readable.from([big]), { size: big.length });
  });
  beforeEach(() => {
    seen = [];
    proxy.setDecider(req => {
      const url = new URL(req.url, 'http://s3');
      const [, bucket = '', ...rest] = url.pathname.split('/');
      seen.push({
        method: req.method,
        bucket,
        key: decodeURIComponent(rest.join('/')),
        query: url.searchParams,
        headers: req.headers,
      });
      return undefined;
    });
  });
  afterAll(async () => {
    backends.forEach(b => b.destroy());
    await proxy?.stop();
    await s3rver?.stop();
  });

  it('copies in part copies of 5 MiB and a short last one, and S3 keeps the full-object CRC32C of the bytes', async () => {
    const { backend, dst, src } = await open();
    // As the engine copies a listed object: its size given.
    const result = await dst.copyWithin(src, 'big.bin', 'big.bin', {
      size: BIG_BYTES,
    });
    expect(result).toEqual({
      size: BIG_BYTES,
      checksums: { crc32c: hex(big) },
    });
    expect(partCopies().sort()).toEqual([
      `1 bytes=0-${P - 1}`,
      `2 bytes=${P}-${2 * P - 1}`,
      `3 bytes=${2 * P}-${BIG_BYTES - 1}`,
    ]);
    expect(streamed()).toEqual([]);
    // The upload named CRC32C, FULL_OBJECT; so did its completion.
    const created = seen.find(
      r => r.method === 'POST' && r.query.has('uploads'),
    );
    expect(created?.headers).toMatchObject({
      'x-amz-checksum-algorithm': 'CRC32C',
      'x-amz-checksum-type': 'FULL_OBJECT',
    });

    const head = await backend.client.send(
      new HeadObjectCommand({
        Bucket: DST,
        Key: 'copies/big.bin',
        ChecksumMode: 'ENABLED',
      }),
    );
    expect(head).toMatchObject({
      ContentLength: BIG_BYTES,
      ChecksumCRC32C: base64(big),
      ChecksumType: 'FULL_OBJECT',
    });
    expect(await dst.stat('big.bin')).toMatchObject({
      size: BIG_BYTES,
      checksums: { crc32c: hex(big) },
    });
    const copied = Buffer.concat(await (await dst.read('big.bin')).toArray());
    expect(copied.equals(big)).toBe(true);
    expect(await s3rverStoredNames(s3rver.directory, DST, 'copies')).toEqual([
      'big.bin',
    ]);
  });

  it('without a size hint, stats the source first and copies the same way', async () => {
    const { dst, src } = await open();
    const result = await dst.copyWithin(src, 'big.bin', 'unhinted.bin');
    expect(result).toMatchObject({
      size: BIG_BYTES,
      checksums: { crc32c: hex(big) },
    });
    expect(partCopies()).toHaveLength(3);
    expect(await dst.stat('unhinted.bin')).toMatchObject({
      checksums: { crc32c: hex(big) },
    });
  });

  it('copies an object of one byte over a part exactly as a short last part', async () => {
    const { dst, src } = await open();
    const data = randomBytes(P + 1);
    await src.write('p1.bin', Readable.from([data]), { size: data.length });
    seen = [];
    await expect(
      dst.copyWithin(src, 'p1.bin', 'p1.bin', { size: data.length }),
    ).resolves.toEqual({ size: data.length, checksums: { crc32c: hex(data) } });
    expect(partCopies().sort()).toEqual([
      `1 bytes=0-${P - 1}`,
      `2 bytes=${P}-${P}`,
    ]);
    const copied = Buffer.concat(await (await dst.read('p1.bin')).toArray());
    expect(copied.equals(data)).toBe(true);
  });

  it('fails a copy from a missing source with NotFoundError and leaves no upload behind', async () => {
    const { dst, src } = await open();
    // With a size (as listed): the part copies themselves find no source.
    await expect(
      dst.copyWithin(src, 'gone.bin', 'gone.bin', { size: BIG_BYTES }),
    ).rejects.toThrow(NotFoundError);
    expect(partCopies().length).toBeGreaterThan(0);
    expect(
      seen.some(r => r.method === 'DELETE' && r.query.has('uploadId')),
    ).toBe(true);
    // Without one: the source's stat finds nothing.
    await expect(dst.copyWithin(src, 'gone.bin', 'gone.bin')).rejects.toThrow(
      NotFoundError,
    );
    expect(await s3rverStoredNames(s3rver.directory, DST, 'copies')).toEqual(
      expect.not.arrayContaining([expect.stringMatching(/^gone\.bin/)]),
    );
  });

  it("with checksumAlgorithm 'none', names no checksum, and the copy has none", async () => {
    const { backend, dst, src } = await open({ checksumAlgorithm: 'none' });
    await expect(
      dst.copyWithin(src, 'big.bin', 'plain.bin', { size: BIG_BYTES }),
    ).resolves.toEqual({ size: BIG_BYTES, checksums: {} });
    expect(partCopies()).toHaveLength(3);
    const created = seen.find(
      r => r.method === 'POST' && r.query.has('uploads'),
    );
    expect(created?.headers['x-amz-checksum-algorithm']).toBeUndefined();
    expect(created?.headers['x-amz-checksum-type']).toBeUndefined();
    const head = await backend.client.send(
      new HeadObjectCommand({
        Bucket: DST,
        Key: 'copies/plain.bin',
        ChecksumMode: 'ENABLED',
      }),
    );
    expect(head.ChecksumCRC32C).toBeUndefined();
    const copied = Buffer.concat(await (await dst.read('plain.bin')).toArray());
    expect(copied.equals(big)).toBe(true);
  });

  it('with SHA256 (COMPOSITE), completes with the SHA-256 S3 answered for each copied part', async () => {
    const { backend, dst, src } = await open({ checksumAlgorithm: 'SHA256' });
    const completions: string[] = [];
    backend.client.middlewareStack.add(
      next => async args => {
        const request = args.request as { body?: unknown };
        if (typeof request.body === 'string' && /<Part>/.test(request.body)) {
          completions.push(request.body);
        }
        return next(args);
      },
      { step: 'finalizeRequest', name: 'captureCompletion' },
    );
    await expect(
      dst.copyWithin(src, 'big.bin', 'sha.bin', { size: BIG_BYTES }),
    ).resolves.toEqual({ size: BIG_BYTES, checksums: {} });
    const created = seen.find(
      r => r.method === 'POST' && r.query.has('uploads'),
    );
    expect(created?.headers['x-amz-checksum-algorithm']).toBe('SHA256');
    expect(created?.headers['x-amz-checksum-type']).toBeUndefined();
    expect(completions).toHaveLength(1);
    const listed = [
      ...completions[0].matchAll(/<ChecksumSHA256>([^<]+)<\/ChecksumSHA256>/g),
    ].map(m => m[1]);
    expect(listed).toEqual([
      sha256(big.subarray(0, P)),
      sha256(big.subarray(P, 2 * P)),
      sha256(big.subarray(2 * P)),
    ]);
    const copied = Buffer.concat(await (await dst.read('sha.bin')).toArray());
    expect(copied.equals(big)).toBe(true);
  });

  it('falls back (undefined) when the server does not implement UploadPartCopy, aborting the upload', async () => {
    const { dst, src } = await open();
    proxy.setDecider(req => {
      seen.push({
        method: req.method,
        bucket: '',
        key: '',
        query: new URL(req.url, 'http://s3').searchParams,
        headers: req.headers,
      });
      return req.method === 'PUT' && req.headers['x-amz-copy-source']
        ? {
            status: 501,
            headers: { 'Content-Type': 'application/xml' },
            body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented</Message></Error>',
          }
        : undefined;
    });
    await expect(
      dst.copyWithin(src, 'big.bin', 'unsupported.bin', { size: BIG_BYTES }),
    ).resolves.toBeUndefined();
    expect(
      seen.some(r => r.method === 'DELETE' && r.query.has('uploadId')),
    ).toBe(true);
    expect(await dst.stat('unsupported.bin')).toBeUndefined();
    expect(
      await s3rverStoredNames(s3rver.directory, DST, 'copies'),
    ).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^unsupported\.bin/)]),
    );
  });

  describe('UploadPartCopy as S3 answers it', () => {
    type Upload = { Bucket: string; Key: string; UploadId: string };
    const error = (e: {
      name: string;
      $metadata?: { httpStatusCode?: number };
    }) => ({ name: e.name, status: e.$metadata?.httpStatusCode });

    async function begin(
      backend: S3StorageBackend,
      Key: string,
      checksum: object = {},
    ): Promise<Upload> {
      const { UploadId } = await backend.client.send(
        new CreateMultipartUploadCommand({ Bucket: DST, Key, ...checksum }),
      );
      return { Bucket: DST, Key, UploadId: UploadId! };
    }

    it('answers the bad requests as S3 does', async () => {
      const { backend } = await open();
      const upload = await begin(backend, 'raw/errors');
      const copy = (input: {
        CopySource?: string;
        CopySourceRange?: string;
        PartNumber?: number;
        UploadId?: string;
      }) =>
        backend.client
          .send(
            new UploadPartCopyCommand({
              ...upload,
              PartNumber: 1,
              CopySource: `${SRC}/data/big.bin`,
              ...input,
            }),
          )
          .then(() => ({ name: 'ok', status: 200 }), error);
      const invalid = { name: 'InvalidArgument', status: 400 };
      await expect(
        copy({ CopySource: `${SRC}/data/missing` }),
      ).resolves.toEqual({ name: 'NoSuchKey', status: 404 });
      await expect(copy({ CopySource: 'no-such-bucket/x' })).resolves.toEqual({
        name: 'NoSuchBucket',
        status: 404,
      });
      await expect(copy({ UploadId: 'no-such-upload' })).resolves.toEqual({
        name: 'NoSuchUpload',
        status: 404,
      });
      await expect(copy({ CopySourceRange: '0-9' })).resolves.toEqual(invalid);
      await expect(copy({ CopySourceRange: 'bytes=5-' })).resolves.toEqual(
        invalid,
      );
      await expect(copy({ CopySourceRange: 'bytes=9-5' })).resolves.toEqual(
        invalid,
      );
      await expect(
        copy({ CopySourceRange: `bytes=0-${BIG_BYTES}` }),
      ).resolves.toEqual(invalid);
      await expect(copy({ PartNumber: 10001 })).resolves.toEqual(invalid);
      await expect(
        copy({ CopySourceRange: `bytes=${BIG_BYTES - 1}-${BIG_BYTES - 1}` }),
      ).resolves.toEqual({ name: 'ok', status: 200 });
      await backend.client.send(new AbortMultipartUploadCommand(upload));
    });

    it('treats a copied part like an uploaded one: its CRC32C is kept, checked and combined', async () => {
      const { backend, dst } = await open();
      const { client } = backend;
      // COMPOSITE CRC32C: complete needs every part's CRC32C.
      const upload = await begin(backend, 'copies/mixed.bin', {
        ChecksumAlgorithm: 'CRC32C',
      });
      const first = big.subarray(0, P);
      const second = randomBytes(100);
      const copied = await client.send(
        new UploadPartCopyCommand({
          ...upload,
          PartNumber: 1,
          CopySource: `${SRC}/data/big.bin`,
          CopySourceRange: `bytes=0-${P - 1}`,
        }),
      );
      expect(copied.CopyPartResult).toMatchObject({
        ETag: `"${createHash('md5').update(first).digest('hex')}"`,
        ChecksumCRC32C: base64(first),
      });
      expect(copied.CopyPartResult?.LastModified).toBeInstanceOf(Date);
      const uploaded = await client.send(
        new UploadPartCommand({
          ...upload,
          PartNumber: 2,
          Body: second,
          ChecksumAlgorithm: 'CRC32C',
        }),
      );
      const parts = [
        {
          PartNumber: 1,
          ETag: copied.CopyPartResult!.ETag,
          ChecksumCRC32C: copied.CopyPartResult!.ChecksumCRC32C,
        },
        {
          PartNumber: 2,
          ETag: uploaded.ETag,
          ChecksumCRC32C: uploaded.ChecksumCRC32C,
        },
      ];
      const complete = (Parts: typeof parts) =>
        client.send(
          new CompleteMultipartUploadCommand({
            ...upload,
            MultipartUpload: { Parts },
          }),
        );
      // A wrong CRC32C for the copied part, or none, is refused.
      await expect(
        complete([{ ...parts[0], ChecksumCRC32C: base64(second) }, parts[1]])
          .then(() => 'ok')
          .catch(e => e.name),
      ).resolves.toBe('InvalidPart');
      await expect(
        complete([{ ...parts[0], ChecksumCRC32C: undefined }, parts[1]])
          .then(() => 'ok')
          .catch(e => e.name),
      ).resolves.toBe('InvalidRequest');
      await expect(complete(parts)).resolves.toMatchObject({
        ChecksumCRC32C: `${base64(
          Buffer.concat([
            Buffer.from(base64(first), 'base64'),
            Buffer.from(base64(second), 'base64'),
          ]),
        )}-2`,
        ChecksumType: 'COMPOSITE',
      });
      const stored = Buffer.concat(
        await (await dst.read('mixed.bin')).toArray(),
      );
      expect(stored.equals(Buffer.concat([first, second]))).toBe(true);
    });
  });
});

import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import {
  crc32c,
  PartedWrites,
} from '@internal/backstage-plugin-dataset-migration-node';
import { S3StorageBackend } from './S3StorageBackend';
import { S3ObjectStore } from './S3ObjectStore';
import { NativeCrc32c } from './nativeCrc32c';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { s3Config } from './__testUtils__/helpers';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;
const P = 5 * MiB;
const BUCKET = 'crc';

const hex = (data: Buffer) => crc32c(data).toString(16).padStart(8, '0');
const base64 = (data: Buffer) =>
  Buffer.from(hex(data), 'hex').toString('base64');

/**
 * What s3rver (patched by s3rverLikeS3.js / s3rverChecksums.js) answers for
 * CRC32C checksums, as S3 does: every value here is computed by the test
 * from the bytes, not taken from the client.
 */
describe('CRC32C checksums against s3rver, as S3 keeps them', () => {
  let s3rver: S3rverProcess;
  let backend: S3StorageBackend;
  let store: S3ObjectStore;
  let raw: S3ObjectStore;

  beforeAll(async () => {
    s3rver = await startS3rver({ buckets: [BUCKET] });
    backend = S3StorageBackend.fromConfig(
      s3Config(s3rver.endpoint, {
        partSizeMiB: 5,
        uploadBufferMiB: 10,
        checksumAlgorithm: 'CRC32C',
      }),
    );
    store = (await backend.open(
      parseLocation(`s3://${BUCKET}/store`),
    )) as S3ObjectStore;
    raw = (await backend.open(
      parseLocation(`s3://${BUCKET}/raw`),
    )) as S3ObjectStore;
  });
  afterAll(async () => {
    backend?.destroy();
    await s3rver?.stop();
  });

  /** The raw listing entry of `key` (S3 lists the algorithm, not the value). */
  async function listed(key: string) {
    const page = await backend.client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'store/' }),
    );
    return page.Contents?.find(o => o.Key === `store/${key}`);
  }

  it.each([
    ['a whole-object PutObject', 1234],
    ['a multipart upload (uploadStream)', 2 * P + 4321],
  ])(
    'reports the full-object CRC32C of %s on write, stat and list',
    async (_what, size) => {
      const data = randomBytes(size);
      const key = `written-${size}.bin`;
      const written = await store.write(key, Readable.from([data]), { size });
      expect(written.checksums.crc32c).toBe(hex(data));
      expect(await store.stat(key)).toMatchObject({
        size,
        checksums: { crc32c: hex(data) },
      });
      expect(await listed(key)).toMatchObject({
        Size: size,
        ChecksumAlgorithm: ['CRC32C'],
        ChecksumType: 'FULL_OBJECT',
      });
      const infos = [];
      for await (const info of store.list()) infos.push(info);
      expect(infos.find(i => i.key === key)).toMatchObject({ size });
      // The bytes read back are the ones written: the SDK checks them
      // against the CRC32C s3rver now answers to a whole-object GET.
      const read = Buffer.concat(await (await store.read(key)).toArray());
      expect(read.equals(data)).toBe(true);
    },
  );

  it.each([
    ['through the SDK (fastRequests: false), natively', false],
    ['on the fast GET path', true],
  ])(
    'checks a GET against the stored CRC32C %s, and refuses bytes that do not match it',
    async (_how, fastRequests) => {
      const reader = S3StorageBackend.fromConfig(
        s3Config(s3rver.endpoint, { fastRequests }),
      );
      const data = randomBytes(3 * MiB + 7);
      const key = `get/checked-${fastRequests}.bin`;
      await store.write(key, Readable.from([data]), { size: data.length });
      const readBack = async () => {
        const from = await reader.open(parseLocation(`s3://${BUCKET}/store`));
        return Buffer.concat(await (await from.read(key)).toArray());
      };
      const update = jest.spyOn(NativeCrc32c.prototype, 'update');
      try {
        expect((await readBack()).equals(data)).toBe(true);
        // Through the SDK every byte goes through the native CRC32C, not
        // the SDK's own; the fast path checks with the same native code.
        const hashed = update.mock.calls.reduce((n, [c]) => n + c.length, 0);
        expect(hashed).toBe(fastRequests ? 0 : data.length);
      } finally {
        update.mockRestore();
      }
      // Same size, other bytes, the stored CRC32C kept: a corrupted read.
      const corrupt = Buffer.from(data);
      corrupt[corrupt.length - 1] ^= 0xff;
      writeFileSync(
        path.join(
          s3rver.directory,
          BUCKET,
          'store',
          'get',
          `checked-${fastRequests}.bin._S3rver_object`,
        ),
        corrupt,
      );
      await expect(readBack()).rejects.toThrow(/checksum/i);
      reader.destroy();
    },
  );

  it('reports the full-object CRC32C of a parted upload (parts API) on complete, stat and list', async () => {
    const parts = store.parts as PartedWrites;
    const data = randomBytes(2 * P + 777);
    const ranges = [
      { number: 1, offset: 0, size: P },
      { number: 2, offset: P, size: P + 777 },
    ];
    const uploadId = await parts.begin('parted.bin', { size: data.length });
    // Part 2 first: the object's CRC is that of the bytes, in order.
    const tokens = [];
    for (const r of [ranges[1], ranges[0]]) {
      const body = data.subarray(r.offset, r.offset + r.size);
      const { token } = await parts.writePart(
        'parted.bin',
        uploadId,
        r,
        Readable.from([body]),
      );
      tokens.push({ number: r.number, token });
    }
    const result = await parts.complete('parted.bin', uploadId, tokens);
    expect(result).toEqual({
      size: data.length,
      checksums: { crc32c: hex(data) },
    });
    expect(await store.stat('parted.bin')).toMatchObject({
      size: data.length,
      checksums: { crc32c: hex(data) },
    });
    expect(await listed('parted.bin')).toMatchObject({
      ChecksumAlgorithm: ['CRC32C'],
      ChecksumType: 'FULL_OBJECT',
    });
  });

  it('refuses a part whose CRC32C is not its body’s (BadDigest), and takes it again right', async () => {
    const parts = store.parts as PartedWrites;
    const data = randomBytes(P + 10);
    const range = { number: 1, offset: 0, size: data.length };
    const uploadId = await parts.begin('bad-part.bin', { size: data.length });
    // The header is changed before signing: s3rver sees a valid request.
    let corrupt = true;
    backend.client.middlewareStack.add(
      next => async args => {
        const request = args.request as { headers: Record<string, string> };
        if (corrupt && request.headers['x-amz-checksum-crc32c']) {
          request.headers['x-amz-checksum-crc32c'] = base64(Buffer.from('x'));
        }
        return next(args);
      },
      { step: 'build', name: 'corruptPartCrc' },
    );
    try {
      await expect(
        parts.writePart('bad-part.bin', uploadId, range, Readable.from([data])),
      ).rejects.toThrow(/did not match the calculated checksum/);
    } finally {
      corrupt = false;
      backend.client.middlewareStack.remove('corruptPartCrc');
    }
    const { token } = await parts.writePart(
      'bad-part.bin',
      uploadId,
      range,
      Readable.from([data]),
    );
    await expect(
      parts.complete('bad-part.bin', uploadId, [{ number: 1, token }]),
    ).resolves.toMatchObject({ checksums: { crc32c: hex(data) } });
  });

  it('answers like S3 to checksums sent by hand', async () => {
    const { client } = backend;
    const Bucket = BUCKET;
    const data = randomBytes(P + 3);
    const first = data.subarray(0, P);
    const second = data.subarray(P);
    const error = (e: {
      name: string;
      $metadata?: { httpStatusCode?: number };
    }) => ({ name: e.name, status: e.$metadata?.httpStatusCode });

    // PutObject with a wrong CRC32C stores nothing.
    await expect(
      client
        .send(
          new PutObjectCommand({
            Bucket,
            Key: 'raw/put',
            Body: first,
            ChecksumAlgorithm: 'CRC32C',
            ChecksumCRC32C: base64(second),
          }),
        )
        .catch(error),
    ).resolves.toEqual({ name: 'BadDigest', status: 400 });
    expect(await raw.stat('put')).toBeUndefined();

    // COMPOSITE (CRC32C without FULL_OBJECT): parts need their checksum at
    // complete; the object's is the CRC of the part CRCs, `-<parts>`.
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({
        Bucket,
        Key: 'raw/composite',
        ChecksumAlgorithm: 'CRC32C',
      }),
    );
    const upload = { Bucket, Key: 'raw/composite', UploadId };
    await expect(
      client
        .send(
          new UploadPartCommand({
            ...upload,
            PartNumber: 1,
            Body: first,
            ChecksumAlgorithm: 'CRC32',
          }),
        )
        .catch(error),
    ).resolves.toEqual({ name: 'InvalidRequest', status: 400 });
    const sent: Array<{ PartNumber: number; ETag?: string; crc: string }> = [];
    for (const [i, body] of [first, second].entries()) {
      const answer = await client.send(
        new UploadPartCommand({
          ...upload,
          PartNumber: i + 1,
          Body: body,
          ChecksumAlgorithm: 'CRC32C',
        }),
      );
      expect(answer.ChecksumCRC32C).toBe(base64(body));
      sent.push({ PartNumber: i + 1, ETag: answer.ETag, crc: base64(body) });
    }
    const completing = (withCrcs: boolean) =>
      new CompleteMultipartUploadCommand({
        ...upload,
        MultipartUpload: {
          Parts: sent.map(({ crc, ...p }) =>
            withCrcs ? { ...p, ChecksumCRC32C: crc } : p,
          ),
        },
      });
    await expect(client.send(completing(false)).catch(error)).resolves.toEqual({
      name: 'InvalidRequest',
      status: 400,
    });
    const composite = `${base64(
      Buffer.concat(sent.map(p => Buffer.from(p.crc, 'base64'))),
    )}-2`;
    await expect(client.send(completing(true))).resolves.toMatchObject({
      ChecksumCRC32C: composite,
      ChecksumType: 'COMPOSITE',
    });
    // Not a CRC32C of the object: stat reports none.
    const stat = await raw.stat('composite');
    expect(stat?.checksums?.crc32c).toBeUndefined();

    // FULL_OBJECT: a whole-object CRC32C sent at complete must be right.
    const full = await client.send(
      new CreateMultipartUploadCommand({
        Bucket,
        Key: 'raw/full',
        ChecksumAlgorithm: 'CRC32C',
        ChecksumType: 'FULL_OBJECT',
      }),
    );
    expect(full).toMatchObject({
      ChecksumAlgorithm: 'CRC32C',
      ChecksumType: 'FULL_OBJECT',
    });
    const part = await client.send(
      new UploadPartCommand({
        Bucket,
        Key: 'raw/full',
        UploadId: full.UploadId,
        PartNumber: 1,
        Body: data,
        ChecksumAlgorithm: 'CRC32C',
      }),
    );
    const complete = (ChecksumCRC32C: string) =>
      client.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key: 'raw/full',
          UploadId: full.UploadId,
          ChecksumType: 'FULL_OBJECT',
          ChecksumCRC32C,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      );
    await expect(complete(base64(first)).catch(error)).resolves.toEqual({
      name: 'BadDigest',
      status: 400,
    });
    await expect(complete(base64(data))).resolves.toMatchObject({
      ChecksumCRC32C: base64(data),
      ChecksumType: 'FULL_OBJECT',
    });

    // GET answers the checksum only when asked, and not for a range.
    const get = async (input: { ChecksumMode?: 'ENABLED'; Range?: string }) => {
      const answer = await client.send(
        new GetObjectCommand({ Bucket, Key: 'raw/full', ...input }),
      );
      await answer.Body!.transformToByteArray();
      return [answer.ChecksumCRC32C, answer.ChecksumType];
    };
    expect(await get({ ChecksumMode: 'ENABLED' })).toEqual([
      base64(data),
      'FULL_OBJECT',
    ]);
    expect(await get({ ChecksumMode: 'ENABLED', Range: 'bytes=0-99' })).toEqual(
      [undefined, undefined],
    );

    // CopyObject naming CRC32C gives the copy its full-object CRC32C.
    const copied = await client.send(
      new CopyObjectCommand({
        Bucket,
        Key: 'store/copied',
        CopySource: `${Bucket}/raw/composite`,
        ChecksumAlgorithm: 'CRC32C',
      }),
    );
    expect(copied.CopyObjectResult?.ChecksumCRC32C).toBe(base64(data));
    expect((await store.stat('copied'))?.checksums).toMatchObject({
      crc32c: hex(data),
    });
  });
});

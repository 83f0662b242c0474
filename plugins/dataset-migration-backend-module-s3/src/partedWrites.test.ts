import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import {
  crc32c,
  ObjectStore,
  PartedWrites,
  PartRange,
} from '@internal/backstage-plugin-dataset-migration-node';
import { S3StorageBackend } from './S3StorageBackend';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { countParts, s3Config } from './__testUtils__/helpers';
import { s3rverStoredNames } from './__testUtils__/s3rverNames';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;
const P = 5 * MiB;
const BUCKET = 'parts';

/** `data` in odd-sized chunks, as a network body arrives. */
function bodyOf(data: Buffer, chunk = 1_000_003): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) {
    chunks.push(data.subarray(i, i + chunk));
  }
  return Readable.from(chunks);
}

const slice = (data: Buffer, r: PartRange) =>
  data.subarray(r.offset, r.offset + r.size);

const readAll = async (stream: Readable) =>
  Buffer.concat(await stream.toArray());

async function listKeys(store: ObjectStore) {
  const keys: string[] = [];
  for await (const info of store.list()) keys.push(info.key);
  return keys;
}

/** Engine parts of `sizes` bytes, and random data for them. */
function layout(sizes: number[]) {
  const ranges: PartRange[] = [];
  let offset = 0;
  sizes.forEach((size, i) => {
    ranges.push({ number: i + 1, offset, size });
    offset += size;
  });
  return { data: randomBytes(offset), ranges };
}

/** Writes `ranges` of `data` one after the other; what complete takes. */
async function writeAll(
  parts: PartedWrites,
  key: string,
  uploadId: string,
  data: Buffer,
  ranges: PartRange[],
) {
  const list = [];
  for (const r of ranges) {
    const written = await parts.writePart(
      key,
      uploadId,
      r,
      bodyOf(slice(data, r)),
    );
    list.push({ number: r.number, token: written.token });
  }
  return list;
}

const hex = (crc: number) => crc.toString(16).padStart(8, '0');
/** A body's CRC32C as S3 carries it. */
const base64 = (b: Buffer) =>
  Buffer.from(hex(crc32c(b)), 'hex').toString('base64');

const s3PartNumbers = (token: string) =>
  (JSON.parse(token) as Array<{ PartNumber: number }>).map(p => p.PartNumber);

describe('S3 parted writes', () => {
  let s3rver: S3rverProcess;
  const backends: S3StorageBackend[] = [];

  /** A fresh backend (client, part budget), as another replica would have. */
  const replica = () => {
    const backend = S3StorageBackend.fromConfig(
      s3Config(s3rver.endpoint, {
        partSizeMiB: 5,
        uploadConcurrency: 2,
        uploadBufferMiB: 10,
      }),
    );
    backends.push(backend);
    return backend;
  };
  const open = async (backend: S3StorageBackend, prefix: string) => {
    const store = await backend.open(parseLocation(`s3://${BUCKET}/${prefix}`));
    return { store, parts: store.parts as PartedWrites };
  };
  const stored = (prefix: string) =>
    s3rverStoredNames(s3rver.directory, BUCKET, prefix);

  beforeAll(async () => {
    s3rver = await startS3rver({ buckets: [BUCKET] });
  });
  afterAll(async () => {
    backends.forEach(b => b.destroy());
    await s3rver?.stop();
  });

  it('takes parts from two replicas out of order and completes them from a third', async () => {
    const [a, b, c] = [replica(), replica(), replica()];
    const counted = countParts(a);
    const { data, ranges } = layout([2 * P, 2 * P, 1_234_567]);
    const key = 'two replicas/object.bin';
    const first = await open(a, 'replicas');
    const second = await open(b, 'replicas');
    expect(first.parts.partSizeMultiple).toBe(P);
    expect(first.parts.maxSize).toBe(10_000 * P);

    const uploadId = await first.parts.begin(key, { size: data.length });
    const write = (w: typeof first, r: PartRange) =>
      w.parts.writePart(key, uploadId, r, bodyOf(slice(data, r)));
    const [last, middle] = await Promise.all([
      write(first, ranges[2]),
      write(second, ranges[1]),
    ]);
    const head = await write(first, ranges[0]);
    expect([head.size, middle.size, last.size]).toEqual([
      2 * P,
      2 * P,
      1_234_567,
    ]);
    // An engine part of two S3 parts is written as S3 parts 1 and 2.
    expect([head, middle, last].map(r => s3PartNumbers(r.token))).toEqual([
      [1, 2],
      [3, 4],
      [5],
    ]);
    expect(counted.parts).toBe(3);
    expect(a.uploadBudget.inUse).toBe(0);
    expect(a.uploadBudget.peak).toBeLessThanOrEqual(a.uploadBudget.capacity);

    // Nothing at the key before complete; the upload alone is held.
    expect(await first.store.stat(key)).toBeUndefined();
    expect(await listKeys(first.store)).toEqual([]);
    expect(await stored('replicas')).toEqual([
      `${key} (unfinished upload ${uploadId})`,
    ]);

    const completed: unknown[] = [];
    c.client.middlewareStack.add(
      (next, context) => async args => {
        if (context.commandName === 'CompleteMultipartUploadCommand') {
          const input = args.input as { MultipartUpload: { Parts: unknown } };
          completed.push(input.MultipartUpload.Parts);
        }
        return next(args);
      },
      { step: 'initialize', name: 'captureCompletedParts' },
    );
    const third = await open(c, 'replicas');
    const result = await third.parts.complete(key, uploadId, [
      { number: 3, token: last.token },
      { number: 1, token: head.token },
      { number: 2, token: middle.token },
    ]);
    // s3rver's ETag looks like an MD5 but a multipart one is none: only
    // the full-object CRC32C S3 (and patched s3rver) computes is reported.
    expect(result).toEqual({
      size: data.length,
      checksums: { crc32c: hex(crc32c(data)) },
    });
    // S3 wants the parts in order (s3rver would sort them itself), each
    // with the CRC32C UploadPart answered.
    expect(completed).toEqual([
      [1, 2, 3, 4, 5].map(PartNumber => ({
        PartNumber,
        ETag: expect.any(String),
        ChecksumCRC32C: base64(
          data.subarray((PartNumber - 1) * P, PartNumber * P),
        ),
      })),
    ]);
    expect(await third.store.stat(key)).toMatchObject({
      key,
      size: data.length,
    });
    const read = await readAll(await third.store.read(key));
    expect([read.length, read.equals(data)]).toEqual([data.length, true]);
    expect(await stored('replicas')).toEqual([key]);
  });

  it('replaces the S3 parts of a part written again', async () => {
    const { store, parts } = await open(replica(), 'rewrite');
    const { data, ranges } = layout([2 * P, 777]);
    const key = 'k.bin';
    const uploadId = await parts.begin(key, { size: data.length });
    const tokens = await writeAll(parts, key, uploadId, data, ranges);
    // Part 1 (two S3 parts) again, with other bytes; part 2 stays.
    const rewritten = Buffer.concat([
      randomBytes(2 * P),
      slice(data, ranges[1]),
    ]);
    const [again] = await writeAll(parts, key, uploadId, rewritten, [
      ranges[0],
    ]);
    await parts.complete(key, uploadId, [again, tokens[1]]);
    expect((await readAll(await store.read(key))).equals(rewritten)).toBe(true);
  });

  it('keeps nothing after an abort, and answers a gone upload with NotFoundError', async () => {
    const { store, parts } = await open(replica(), 'abort');
    const { data, ranges } = layout([2 * P, 100]);
    const key = 'dir/aborted.bin';
    const uploadId = await parts.begin(key, { size: data.length });
    const written = await parts.writePart(
      key,
      uploadId,
      ranges[0],
      bodyOf(slice(data, ranges[0])),
    );
    expect(await stored('abort')).toEqual([
      `${key} (unfinished upload ${uploadId})`,
    ]);
    await parts.abort(key, uploadId);
    // s3rver has no ListMultipartUploads (NotImplemented): its upload
    // folder shows the unfinished uploads instead.
    expect(await stored('abort')).toEqual([]);
    expect(await store.stat(key)).toBeUndefined();
    expect(await listKeys(store)).toEqual([]);
    await expect(parts.abort(key, uploadId)).resolves.toBeUndefined();
    await expect(parts.abort(key, 'no-such-upload')).resolves.toBeUndefined();

    for (const id of [uploadId, 'no-such-upload']) {
      const body = bodyOf(slice(data, ranges[1]));
      await expect(
        parts.writePart(key, id, ranges[1], body),
      ).rejects.toMatchObject({
        name: 'NotFoundError',
        message: expect.stringContaining('upload does not exist'),
      });
      expect(body.destroyed).toBe(true);
      await expect(
        parts.complete(key, id, [{ number: 1, token: written.token }]),
      ).rejects.toMatchObject({ name: 'NotFoundError' });
    }
    expect(await store.stat(key)).toBeUndefined();
    expect(await stored('abort')).toEqual([]);
  });

  it('refuses a body shorter or longer than its part, and stores no object', async () => {
    const backend = replica();
    const { store, parts } = await open(backend, 'mismatch');
    const { data, ranges } = layout([2 * P, 5000]);
    const key = 'm.bin';
    const uploadId = await parts.begin(key, { size: data.length });
    const cases: Array<[PartRange, Buffer]> = [
      [ranges[0], randomBytes(2 * P - 1)],
      [ranges[0], randomBytes(2 * P + 1)],
      [ranges[1], randomBytes(4999)],
      [ranges[1], randomBytes(5001)],
      [ranges[1], Buffer.alloc(0)],
    ];
    for (const [range, bytes] of cases) {
      const body = bodyOf(bytes, 65_536);
      await expect(
        parts.writePart(key, uploadId, range, body),
      ).rejects.toMatchObject({
        name: 'InputError',
        message: expect.stringMatching(/expected \d+ bytes/),
      });
      expect(body.destroyed).toBe(true);
    }
    expect(backend.uploadBudget.inUse).toBe(0);
    expect(await store.stat(key)).toBeUndefined();
    expect(await listKeys(store)).toEqual([]);
    // The upload takes the right bytes afterwards.
    const tokens = await writeAll(parts, key, uploadId, data, ranges);
    await expect(parts.complete(key, uploadId, tokens)).resolves.toMatchObject({
      size: data.length,
    });
    expect((await readAll(await store.read(key))).equals(data)).toBe(true);
  });

  it('refuses sizes above maxSize, misaligned parts and parts missing at complete', async () => {
    const { store, parts } = await open(replica(), 'limits');
    await expect(
      parts.begin('big', { size: parts.maxSize + 1 }),
    ).rejects.toMatchObject({ name: 'InputError' });
    const uploadId = await parts.begin('big', { size: parts.maxSize });
    await expect(
      parts.writePart(
        'big',
        uploadId,
        { number: 2, offset: P + 1, size: 10 },
        bodyOf(Buffer.alloc(10)),
      ),
    ).rejects.toMatchObject({ name: 'InputError' });
    const { data, ranges } = layout([P, P, 10]);
    const tokens = await writeAll(parts, 'big', uploadId, data, [
      ranges[0],
      ranges[2],
    ]);
    // Part 2 was never written: S3 would store an object without it.
    await expect(parts.complete('big', uploadId, tokens)).rejects.toMatchObject(
      { name: 'InputError', message: expect.stringContaining('S3 part 2') },
    );
    await expect(
      parts.complete('big', uploadId, [{ number: 1, token: 'nonsense' }]),
    ).rejects.toMatchObject({ name: 'InputError' });
    expect(await store.stat('big')).toBeUndefined();
    await parts.abort('big', uploadId);
  });

  it('stops a part when its signal aborts, releasing its buffers', async () => {
    const backend = replica();
    const { store, parts } = await open(backend, 'signal');
    const uploadId = await parts.begin('s', { size: 3 * P });
    let sent = 0;
    const stalling = new Readable({
      read() {
        if (sent < P + MiB) {
          sent += MiB;
          this.push(Buffer.alloc(MiB, 1));
        }
      },
    });
    const controller = new AbortController();
    const writing = parts.writePart(
      's',
      uploadId,
      { number: 1, offset: 0, size: 3 * P },
      stalling,
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 300);
    await expect(writing).rejects.toMatchObject({ name: 'AbortError' });
    expect(stalling.destroyed).toBe(true);
    expect(backend.uploadBudget.inUse).toBe(0);
    await parts.abort('s', uploadId);
    expect(await store.stat('s')).toBeUndefined();
  });

  it('sends CRC32C per part and FULL_OBJECT, and reports S3’s full-object CRC32C', async () => {
    const backend = replica();
    const { data, ranges } = layout([2 * P, 4321]);
    const sent: Array<[string, Record<string, string>]> = [];
    backend.client.middlewareStack.add(
      (next, context) => async args => {
        const request = args.request as { headers: Record<string, string> };
        const checksumHeaders = Object.fromEntries(
          Object.entries(request.headers).filter(([h]) =>
            h.startsWith('x-amz-checksum'),
          ),
        );
        sent.push([context.commandName!, checksumHeaders]);
        return next(args);
      },
      { step: 'finalizeRequest', name: 'captureChecksumHeaders' },
    );
    const { parts } = await open(backend, 'crc');
    const uploadId = await parts.begin('c', { size: data.length });
    const tokens = await writeAll(parts, 'c', uploadId, data, ranges);
    const result = await parts.complete('c', uploadId, tokens);
    // The CRC32C s3rver computed of the whole object, as S3 answers it.
    expect(result).toEqual({
      size: data.length,
      checksums: { crc32c: hex(crc32c(data)) },
    });
    expect(sent).toEqual([
      [
        'CreateMultipartUploadCommand',
        {
          'x-amz-checksum-algorithm': 'CRC32C',
          'x-amz-checksum-type': 'FULL_OBJECT',
        },
      ],
      ...[0, P, 2 * P].map(start => [
        'UploadPartCommand',
        {
          'x-amz-checksum-crc32c': base64(
            data.subarray(start, Math.min(start + P, data.length)),
          ),
        },
      ]),
      [
        'CompleteMultipartUploadCommand',
        { 'x-amz-checksum-type': 'FULL_OBJECT' },
      ],
    ]);
  });
});

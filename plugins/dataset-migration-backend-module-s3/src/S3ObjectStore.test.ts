import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { crc32cPortable } from '@internal/backstage-plugin-dataset-migration-node';
import {
  describeObjectStoreConformance,
  generatedStream,
} from '@internal/backstage-plugin-dataset-migration-node/testUtils';
import { S3StorageBackend } from './S3StorageBackend';
import { S3rverProcess, startS3rver } from './__testUtils__/s3rver';
import { countParts, s3Config } from './__testUtils__/helpers';
import { s3rverStoredNames } from './__testUtils__/s3rverNames';

describe('S3ObjectStore', () => {
  let s3rver: S3rverProcess;
  let backend: S3StorageBackend;
  let counter: { parts: number };

  beforeAll(async () => {
    s3rver = await startS3rver({ buckets: ['conformance', 'other'] });
    backend = S3StorageBackend.fromConfig(
      s3Config(s3rver.endpoint, { listPageSize: 7, partSizeMiB: 8 }),
    );
    counter = countParts(backend);
  });
  afterAll(async () => {
    backend?.destroy();
    await s3rver?.stop();
  });

  describeObjectStoreConformance('s3', () => ({
    open: prefix => backend.open(parseLocation(`s3://conformance/${prefix}`)),
    listPageSize: 7,
    partSizeBytes: 8 * 1024 * 1024,
    partRequests: () => counter.parts,
    // Real S3 has no per-segment limit, but s3rver keeps every object as
    // files named `<last segment>._S3rver_metadata.json` (22 more bytes)
    // on a filesystem with 255-byte names.
    maxKeySegmentBytes: 255 - '._S3rver_metadata.json'.length,
    storedNames: prefix =>
      s3rverStoredNames(s3rver.directory, 'conformance', prefix),
  }));

  it('copies across buckets with CopyObject, and with UploadPartCopy above the threshold', async () => {
    const src = await backend.open(parseLocation('s3://conformance/cp-src'));
    const dst = await backend.open(parseLocation('s3://other/cp-dst'));
    const body = Buffer.alloc(6 * 1024 * 1024, 3);
    await src.write('x y.bin', Readable.from([body]), { size: body.length });
    expect(await dst.copyWithin!(src, 'x y.bin', 'x y.bin')).toMatchObject({
      size: body.length,
    });
    expect(await dst.stat('x y.bin')).toMatchObject({ size: body.length });

    // Above the threshold, part copies (more in partCopy.s3rver.test.ts,
    // with the fallback when a server does not implement them).
    const small = S3StorageBackend.fromConfig(
      s3Config(s3rver.endpoint, { multipartCopyThresholdMiB: 5 }),
    );
    const a = await small.open(parseLocation('s3://conformance/cp-src'));
    const b = await small.open(parseLocation('s3://other/cp-mp'));
    expect(await b.copyWithin!(a, 'x y.bin', 'copy')).toMatchObject({
      size: body.length,
    });
    const copied = Buffer.concat(await (await b.read('copy')).toArray());
    expect(copied.equals(body)).toBe(true);
    small.destroy();
  });

  it('lists what every write, copy and delete left (the test s3rver keeps a key index)', async () => {
    const store = await backend.open(parseLocation('s3://other/index'));
    const keys = async (startAfter?: string) => {
      const out: string[] = [];
      for await (const info of store.list({ startAfter })) out.push(info.key);
      return out;
    };
    const put = (key: string, bytes = 3) =>
      store.write(key, Readable.from([Buffer.alloc(bytes, 1)]), {
        size: bytes,
      });
    await put('b');
    await put('a/x');
    expect(await keys()).toEqual(['a/x', 'b']);
    await store.copyWithin!(store, 'b', 'a.b');
    // UTF-8 order: '.' (0x2E) before '/' (0x2F).
    expect(await keys()).toEqual(['a.b', 'a/x', 'b']);
    await store.delete('b');
    await store.delete('never-written');
    expect(await keys()).toEqual(['a.b', 'a/x']);
    await put('a/x', 5);
    const big = 9 * 1024 * 1024; // above the 8 MiB part size: multipart
    await store.write('c', generatedStream(big, 1), { size: big });
    expect(await keys()).toEqual(['a.b', 'a/x', 'c']);
    expect(await keys('a.b')).toEqual(['a/x', 'c']);
    expect(await store.stat('a/x')).toMatchObject({ size: 5 });
  });

  it('sends each body’s CRC32C computed natively, once per request, for single and multipart writes', async () => {
    const sent: Array<{ command: string; crc32c: unknown; size: number }> = [];
    // The SDK path; fastRequests.s3rver.test.ts checks the fast PUT's.
    const probe = S3StorageBackend.fromConfig(
      s3Config(s3rver.endpoint, { partSizeMiB: 5, fastRequests: false }),
    );
    probe.client.middlewareStack.add(
      next => async args => {
        const request = args.request as {
          headers: Record<string, string>;
          body?: unknown;
        };
        if (Buffer.isBuffer(request.body)) {
          sent.push({
            command: Object.keys(request.headers)
              .filter(h => h.startsWith('x-amz-checksum-'))
              .join(','),
            crc32c: request.headers['x-amz-checksum-crc32c'],
            size: request.body.length,
          });
        }
        return next(args);
      },
      { step: 'finalizeRequest', name: 'captureChecksums' },
    );
    const store = await probe.open(parseLocation('s3://conformance/crc'));
    const small = Buffer.from('hello, crc');
    const large = Buffer.alloc(11 * 1024 * 1024, 7);
    large.write('different start');
    await store.write('small.txt', Readable.from([small]), {
      size: small.length,
    });
    await store.write('large.bin', Readable.from([large]), {
      size: large.length,
    });
    const expected = (b: Buffer) => {
      const v = Buffer.alloc(4);
      v.writeUInt32BE(crc32cPortable(b));
      return v.toString('base64');
    };
    const five = 5 * 1024 * 1024;
    expect(sent).toEqual([
      {
        command: 'x-amz-checksum-crc32c',
        crc32c: expected(small),
        size: small.length,
      },
      ...[0, five, 2 * five].map(start => {
        const part = large.subarray(
          start,
          Math.min(start + five, large.length),
        );
        return {
          command: 'x-amz-checksum-crc32c',
          crc32c: expected(part),
          size: part.length,
        };
      }),
    ]);
    probe.destroy();
  });

  it('hashes MD5 of a body sent in parts only for a caller that compares it', async () => {
    const store = await backend.open(parseLocation('s3://conformance/md5'));
    const large = Buffer.alloc(9 * 1024 * 1024, 3);
    const md5 = createHash('md5').update(large).digest('hex');
    const write = (key: string, expected?: { md5: string }) =>
      store.write(key, Readable.from([large]), {
        size: large.length,
        expected,
      });
    // In parts (8 MiB), nothing to compare: no MD5 (the object keeps none).
    expect((await write('plain.bin')).checksums.md5).toBeUndefined();
    // The source's listed MD5 given: hashed, for the engine to compare.
    expect((await write('listed.bin', { md5 })).checksums.md5).toBe(md5);
    // A single-part body: always, to check S3's MD5 ETag.
    const small = Buffer.from('small');
    expect(
      (
        await store.write('small.txt', Readable.from([small]), {
          size: small.length,
        })
      ).checksums.md5,
    ).toBe(createHash('md5').update(small).digest('hex'));
  });

  it('gives the SDK a logger without info/error, so no redacted log record is built per request', async () => {
    const logger = backend.client.config.logger as unknown as Record<
      string,
      unknown
    >;
    expect(logger.info).toBeUndefined();
    expect(logger.error).toBeUndefined();
    expect(typeof logger.warn).toBe('function');
    const store = await backend.open(parseLocation('s3://conformance/log'));
    await store.write('a', Readable.from([Buffer.from('a')]), { size: 1 });
    expect(await store.stat('a')).toMatchObject({ size: 1 });
  });

  it('holds writes to the configured rate per bucket/prefix', async () => {
    const slow = S3StorageBackend.fromConfig(
      s3Config(s3rver.endpoint, { maxWritesPerSecond: 10 }),
    );
    const store = await slow.open(parseLocation('s3://conformance/rate'));
    const started = Date.now();
    // a burst of 10, then 10 per second: 25 writes need at least 1.5 s
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        store.write(`k${i}`, Readable.from(['x']), { size: 1 }),
      ),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    slow.destroy();
  });

  it('reports a missing bucket and other schemes clearly', async () => {
    await expect(
      backend.open(parseLocation('gs://bucket/x')),
    ).rejects.toMatchObject({ name: 'InputError' });
    const store = await backend.open(parseLocation('s3://no-such-bucket/x'));
    await expect(store.stat('k')).resolves.toBeUndefined();
    await expect(
      store.write('k', Readable.from(['x']), { size: 1 }),
    ).rejects.toMatchObject({
      name: 'NotFoundError',
      message: expect.stringContaining('bucket does not exist'),
    });
  });

  it('reports the real cause when a large write fails', async () => {
    const missing = await backend.open(
      parseLocation('s3://no-such-bucket/big'),
    );
    await expect(
      missing.write('k', generatedStream(12 * 1024 * 1024), {
        size: 12 * 1024 * 1024,
      }),
    ).rejects.toMatchObject({ name: 'NotFoundError' });

    const store = await backend.open(parseLocation('s3://conformance/broken'));
    let sent = 0;
    const failing = new Readable({
      read() {
        sent += 1024 * 1024;
        if (sent > 10 * 1024 * 1024) {
          this.destroy(new Error('source disk went away'));
        } else {
          this.push(Buffer.alloc(1024 * 1024));
        }
      },
    });
    await expect(store.write('k', failing)).rejects.toThrow(
      /source disk went away/,
    );
    expect(await store.stat('k')).toBeUndefined();
  });

  it('never puts the secret key into errors', async () => {
    const secret = 'super-secret-key-do-not-log';
    const denied = S3StorageBackend.fromConfig(
      s3Config('http://127.0.0.1:1', {
        credentials: { accessKeyId: 'AKIA', secretAccessKey: secret },
        maxAttempts: 1,
      }),
    );
    const store = await denied.open(parseLocation('s3://conformance/x'));
    const error = await store.stat('k').catch(e => e);
    expect(error).toBeInstanceOf(Error);
    expect(error.retryable).toBe(true);
    expect(
      JSON.stringify({
        m: error.message,
        s: error.stack,
        c: String(error.cause),
      }),
    ).not.toContain(secret);
    denied.destroy();
  });
});

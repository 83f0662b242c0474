import fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { crc32c } from '@internal/backstage-plugin-dataset-migration-node';
import { S3StorageBackend } from './S3StorageBackend';
import { S3rverProcess, startS3rver, TEST_TLS } from './__testUtils__/s3rver';
import { s3Config } from './__testUtils__/helpers';
import { UNSIGNED_PAYLOAD } from './unsignedPayload';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;

interface SentPut {
  path: string;
  contentSha256?: string;
  checksum?: string;
  /** The body as the handler got it: a buffer, or 1 MiB slices. */
  body: 'buffer' | 'slices';
}

/** The PUTs with a body the backend sends, as signed (both the SDK's and the fast ones). */
function recordPuts(backend: S3StorageBackend) {
  const puts: SentPut[] = [];
  const handler = (backend.client.config as any).requestHandler;
  const handle = handler.handle.bind(handler);
  jest.spyOn(handler, 'handle').mockImplementation((request: any, o: any) => {
    if (request.method === 'PUT' && request.body !== undefined) {
      puts.push({
        path: request.path,
        contentSha256: request.headers['x-amz-content-sha256'],
        checksum: request.headers['x-amz-checksum-crc32c'],
        body: request.body instanceof Readable ? 'slices' : 'buffer',
      });
    }
    return handle(request, o);
  });
  return puts;
}

/** Runs `step` on each SDK request just before or after the unsigned-payload middleware. */
function hook(
  backend: S3StorageBackend,
  relation: 'before' | 'after',
  name: string,
  step: (request: any) => Promise<void>,
) {
  backend.client.middlewareStack.addRelativeTo(
    (next: any) => async (args: any) => {
      await step(args.request);
      return next(args);
    },
    { name, relation, toMiddleware: 'datasetMigrationUnsignedPayload' },
  );
}

const readAll = async (stream: Readable) =>
  Buffer.concat(await stream.toArray());

const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('S3 bodies over HTTPS: unsigned, checked by their CRC32C', () => {
  let secure: S3rverProcess;
  let plain: S3rverProcess;
  const backends: S3StorageBackend[] = [];
  let trusted: string[];

  const backendFor = (s3: S3rverProcess, extra: object = {}) => {
    const backend = S3StorageBackend.fromConfig(
      s3Config(s3.endpoint, { partSizeMiB: 5, ...extra }),
    );
    backends.push(backend);
    return backend;
  };

  beforeAll(async () => {
    // The test-only certificate, trusted by this process's TLS clients.
    trusted = tls.getCACertificates('default');
    tls.setDefaultCACertificates([
      ...trusted,
      fs.readFileSync(TEST_TLS.cert, 'utf8'),
    ]);
    [secure, plain] = await Promise.all([
      startS3rver({ buckets: ['tls-bucket'], tls: true }),
      startS3rver({ buckets: ['tls-bucket'] }),
    ]);
  });
  afterAll(async () => {
    for (const backend of backends) backend.destroy();
    await Promise.all([secure?.stop(), plain?.stop()]);
    if (trusted) tls.setDefaultCACertificates(trusted);
  });

  it.each([
    ['a small object (one PutObject, fast path)', 100_000, true, 1],
    ['a small object (one PutObject, through the SDK)', 100_000, false, 1],
    ['a 3 MiB object (one PutObject, fast path)', 3 * MiB, true, 1],
    ['a 3 MiB object (one PutObject, through the SDK)', 3 * MiB, false, 1],
    ['an object in parts (UploadPart)', 12 * MiB, true, 3],
  ])(
    'sends %s unsigned, and S3 keeps the bytes and their CRC32C',
    async (_what, size, fastRequests, requests) => {
      expect(secure.endpoint).toMatch(/^https:/);
      const backend = backendFor(secure, { fastRequests });
      const puts = recordPuts(backend);
      const store = await backend.open(
        parseLocation('s3://tls-bucket/unsigned'),
      );
      const data = randomBytes(size);
      const key = `${size}-${fastRequests}.bin`;
      const written = await store.write(key, Readable.from([data]), {
        size,
      });
      expect(written.size).toBe(size);
      expect(puts).toHaveLength(requests);
      for (const put of puts) {
        expect(put.contentSha256).toBe(UNSIGNED_PAYLOAD);
        expect(put.checksum).toMatch(/^[A-Za-z0-9+/]{6}==$/);
      }
      // Bodies over 1 MiB go to the TLS socket 1 MiB at a time.
      expect(puts.map(p => p.body)).toEqual(
        puts.map(() => (size > MiB ? 'slices' : 'buffer')),
      );
      expect((await readAll(await store.read(key))).equals(data)).toBe(true);
      // S3 kept the object's CRC32C (and checked the bytes against it).
      const crc = crc32c(data).toString(16).padStart(8, '0');
      expect(written.checksums.crc32c).toBe(crc);
      expect((await store.stat(key))?.checksums?.crc32c).toBe(crc);
    },
  );

  it('sends a part again whole when its first attempt failed after its slices were read', async () => {
    const backend = backendFor(secure);
    let failed = 0;
    // The first UploadPart's slices are all read (as a socket would), then
    // the request fails as a reset connection does: the SDK retries it.
    hook(backend, 'after', 'failOnce', async request => {
      if (failed === 0 && request.body instanceof Readable) {
        failed++;
        await readAll(request.body);
        throw Object.assign(new Error('socket hang up'), {
          code: 'ECONNRESET',
        });
      }
    });
    const puts = recordPuts(backend);
    const store = await backend.open(parseLocation('s3://tls-bucket/retry'));
    const data = randomBytes(11 * MiB);
    await store.write('x.bin', Readable.from([data]), { size: data.length });
    expect(failed).toBe(1);
    expect(puts).toHaveLength(3);
    expect((await readAll(await store.read('x.bin'))).equals(data)).toBe(true);
  });

  it('refuses bytes changed after their CRC32C was declared: nothing is stored', async () => {
    const backend = backendFor(secure, { fastRequests: false });
    // Between the checksum and the signature, one byte of each body flips:
    // what an unsigned body could suffer on the way. S3 answers BadDigest.
    hook(backend, 'before', 'flipAByte', async request => {
      if (Buffer.isBuffer(request.body) && request.body.length > 0) {
        const changed = Buffer.from(request.body);
        changed[0] ^= 0xff;
        request.body = changed;
      }
    });
    const puts = recordPuts(backend);
    const store = await backend.open(parseLocation('s3://tls-bucket/flipped'));
    await expect(
      store.write('x.bin', Readable.from([randomBytes(50_000)]), {
        size: 50_000,
      }),
    ).rejects.toThrow(/CRC32C|BadDigest/);
    expect(puts[0]?.contentSha256).toBe(UNSIGNED_PAYLOAD);
    expect(await store.stat('x.bin')).toBeUndefined();
  });

  it('still signs bodies over plain HTTP, and bodies that declare no checksum', async () => {
    const data = randomBytes(100_000);
    for (const [s3, extra] of [
      [plain, { fastRequests: true }],
      [plain, { fastRequests: false }],
      [secure, { checksumAlgorithm: 'none', fastRequests: true }],
    ] as const) {
      const backend = backendFor(s3, extra);
      const puts = recordPuts(backend);
      const store = await backend.open(parseLocation('s3://tls-bucket/signed'));
      await store.write('x.bin', Readable.from([data]), { size: data.length });
      expect(puts).toHaveLength(1);
      expect(puts[0].contentSha256).toBe(sha256Hex(data));
      expect((await readAll(await store.read('x.bin'))).equals(data)).toBe(
        true,
      );
    }
  });
});

import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ConfigReader } from '@backstage/config';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import {
  crc32c,
  isRetryableError,
  ObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';
import { GcsStorageBackend } from './GcsStorageBackend';
import { readMedia } from './fastReads';
import { GcsTestServer } from './testing/GcsTestServer';
import { hexCrc32c, md5Hex, standInAuthClients } from './testing/standInAuth';
import {
  FaultProxy,
  FaultRequestInfo,
  startFaultProxy,
} from './testing/faultProxy';

jest.setTimeout(60_000);

const bytesOf = async (body: Readable) => Buffer.concat(await body.toArray());

describe('GCS reads of one object: Node HTTP GETs', () => {
  let server: GcsTestServer;
  let proxy: FaultProxy;
  let seen: FaultRequestInfo[];
  const data = randomBytes(300_000);

  const store = async (extra: object = {}) =>
    GcsStorageBackend.fromConfig(
      new ConfigReader({
        datasetMigration: {
          storage: {
            gcs: {
              apiEndpoint: proxy.endpoint,
              projectId: 'test',
              maxRetries: 2,
              ...extra,
            },
          },
        },
      }),
    ).open(parseLocation('gs://reads/p'));

  /** Requests for the object's bytes or metadata (not uploads, not lists). */
  const reads = () =>
    seen.filter(
      r => r.method === 'GET' && r.url.startsWith('/storage/v1/b/reads/o/'),
    );

  /** Seen requests pass; `fault` decides for those that `reads()` counts. */
  const onReads = (fault: (n: number) => object | undefined) => {
    let n = 0;
    proxy.setDecider(req => {
      seen.push(req);
      return req.method === 'GET' &&
        req.url.startsWith('/storage/v1/b/reads/o/')
        ? (fault(++n) as any)
        : undefined;
    });
  };

  let s: ObjectStore;
  beforeAll(async () => {
    server = await GcsTestServer.start({ buckets: ['reads'] });
    proxy = await startFaultProxy(server.endpoint);
    s = await store();
    await s.write('dir/obj.bin', Readable.from([data]), { size: data.length });
    await s.write('empty', Readable.from([]), { size: 0 });
  });
  beforeEach(() => {
    seen = [];
    onReads(() => undefined);
  });
  afterAll(async () => {
    await proxy?.stop();
    await server?.stop();
  });

  it('reads an object, a range and metadata with one GET each, not through the client library', async () => {
    expect((await bytesOf(await s.read('dir/obj.bin'))).equals(data)).toBe(
      true,
    );
    expect(
      (
        await bytesOf(await s.read('dir/obj.bin', { start: 1000, end: 70_999 }))
      ).equals(data.subarray(1000, 71_000)),
    ).toBe(true);
    expect(await bytesOf(await s.read('empty'))).toHaveLength(0);
    expect(await s.stat('dir/obj.bin')).toMatchObject({
      key: 'dir/obj.bin',
      size: data.length,
      checksums: { md5: md5Hex(data), crc32c: hexCrc32c(crc32c(data)) },
    });
    expect(await s.stat('missing')).toBeUndefined();
    await expect(s.read('missing')).rejects.toMatchObject({
      name: 'NotFoundError',
      message: 'Reading gs://reads/p/missing: object not found',
    });
    expect(reads().map(r => [r.url, r.headers.range])).toEqual([
      ['/storage/v1/b/reads/o/p%2Fdir%2Fobj.bin?alt=media', undefined],
      ['/storage/v1/b/reads/o/p%2Fdir%2Fobj.bin?alt=media', 'bytes=1000-70999'],
      ['/storage/v1/b/reads/o/p%2Fempty?alt=media', undefined],
      ['/storage/v1/b/reads/o/p%2Fdir%2Fobj.bin', undefined],
      ['/storage/v1/b/reads/o/p%2Fmissing', undefined],
      ['/storage/v1/b/reads/o/p%2Fmissing?alt=media', undefined],
    ]);
    // The client library names itself in x-goog-api-client; these do not.
    expect(reads().map(r => r.headers['x-goog-api-client'])).toEqual(
      reads().map(() => undefined),
    );
    expect(reads()[0].headers['accept-encoding']).toBe('gzip');
  });

  it('fails a whole read whose bytes do not have the listed CRC32C, and one cut short: retryable, naming the object', async () => {
    onReads(() => ({ answer: { flipByteAt: 123_456 } }));
    const flipped = await bytesOf(await s.read('dir/obj.bin')).catch(e => e);
    expect(flipped.message).toBe(
      'Reading gs://reads/p/dir/obj.bin failed: the bytes read do not have the CRC32C GCS lists for the object (damaged on the way)',
    );
    expect(isRetryableError(flipped)).toBe(true);

    onReads(() => ({ answer: { dropAfterBytes: 100_000 } }));
    const cut = await bytesOf(await s.read('dir/obj.bin')).catch(e => e);
    expect(cut.message).toMatch(
      /^Reading gs:\/\/reads\/p\/dir\/obj\.bin failed/,
    );
    expect(cut.message).not.toContain('127.0.0.1');
    expect(isRetryableError(cut)).toBe(true);
  });

  it('retries 503 / 429 answers and dropped connections before the body; reports persistent ones as retryable', async () => {
    const faults = [
      { status: 503 },
      { status: 429 },
      { dropAfterBodyBytes: 0 },
    ];
    onReads(n => faults[n - 1]);
    const s0 = await store({ maxRetries: 3 });
    expect((await bytesOf(await s0.read('dir/obj.bin'))).equals(data)).toBe(
      true,
    );
    expect(reads()).toHaveLength(4);

    onReads(() => ({ status: 503 }));
    const s1 = await store({ maxRetries: 1 });
    for (const failed of [
      await s1.read('dir/obj.bin').catch(e => e),
      await s1.stat('dir/obj.bin').catch(e => e),
    ]) {
      expect(failed.name).toBe('ServiceUnavailableError');
      expect(failed.message).toContain('gs://reads/p/dir/obj.bin');
      expect(isRetryableError(failed)).toBe(true);
    }
    expect(reads()).toHaveLength(4 + 2 + 2);
  });

  it('reports a 403 as NotAllowedError without retrying', async () => {
    onReads(() => ({ status: 403, body: '{"error":{"message":"denied"}}' }));
    await expect(s.read('dir/obj.bin')).rejects.toMatchObject({
      name: 'NotAllowedError',
    });
    expect(reads()).toHaveLength(1);
  });

  it('reads an object GCS sends gzip-encoded through the client library, which decompresses it', async () => {
    // The first answer says what GCS says of an object stored with
    // Content-Encoding: gzip; the library's own GET is answered plainly.
    onReads(n =>
      n === 1
        ? {
            answer: {
              headers: {
                'content-encoding': 'gzip',
                'x-goog-stored-content-encoding': 'gzip',
              },
            },
          }
        : undefined,
    );
    expect((await bytesOf(await s.read('dir/obj.bin'))).equals(data)).toBe(
      true,
    );
    // Its GET, then the library's metadata request (here a direct one)
    // and the library's GET of the generation that names.
    const sent = reads().map(
      r => `${r.headers['x-goog-api-client'] ? 'library' : 'direct'} ${r.url}`,
    );
    expect(sent).toEqual([
      'direct /storage/v1/b/reads/o/p%2Fdir%2Fobj.bin?alt=media',
      'direct /storage/v1/b/reads/o/p%2Fdir%2Fobj.bin',
      expect.stringMatching(
        /^library \/storage\/v1\/b\/reads\/o\/p%2Fdir%2Fobj\.bin\?alt=media&generation=\d+/,
      ),
    ]);
  });

  it('lists with one GET per page, asking only for the fields a listing uses', async () => {
    const lister = await store({ listPageSize: 2 });
    await lister.write('dir/obj2.bin', Readable.from(['x']), { size: 1 });
    const pages = () =>
      seen.filter(
        r => r.method === 'GET' && r.url.startsWith('/storage/v1/b/reads/o?'),
      );
    const keys: string[] = [];
    for await (const info of lister.list({ startAfter: 'dir/obj.bin' })) {
      keys.push(info.key);
    }
    expect(keys).toEqual(['dir/obj2.bin', 'empty']);
    const sent = pages().map(r => new URL(r.url, 'http://x').searchParams);
    expect(sent.map(q => [q.get('prefix'), q.get('startOffset')])).toEqual([
      ['p/', 'p/dir/obj.bin'],
      ['p/', 'p/dir/obj.bin'],
    ]);
    expect(sent[0].get('fields')).toBe(
      'items(name,size,generation,etag,md5Hash,crc32c,updated),nextPageToken',
    );
    expect(sent[1].get('pageToken')).toBeTruthy();
    expect(pages().every(r => !r.headers['x-goog-api-client'])).toBe(true);
    await lister.delete('dir/obj2.bin');

    // A page cut short is a retryable error, not a shorter listing.
    seen = [];
    proxy.setDecider(req => {
      seen.push(req);
      return req.url.startsWith('/storage/v1/b/reads/o?')
        ? { answer: { dropAfterBytes: 50 } }
        : undefined;
    });
    const cut = await (async () => {
      for await (const info of lister.list()) keys.push(info.key);
    })().catch(e => e);
    expect(cut.message).toMatch(/^Listing gs:\/\/reads\/p\/ failed/);
    expect(isRetryableError(cut)).toBe(true);
  });

  it('leaves reads to the client library with fastReads: false', async () => {
    const viaLibrary = await store({ fastReads: false });
    expect(
      (await bytesOf(await viaLibrary.read('dir/obj.bin'))).equals(data),
    ).toBe(true);
    const keys: string[] = [];
    for await (const info of viaLibrary.list()) keys.push(info.key);
    expect(keys).toEqual(['dir/obj.bin', 'empty']);
    const viaApi = seen.filter(r => r.method === 'GET');
    expect(viaApi.length).toBeGreaterThan(2);
    expect(viaApi.every(r => r.headers['x-goog-api-client'])).toBe(true);
  });

  it("authorises with the client's credentials, except on an emulator endpoint without useAuthWithCustomEndpoint", async () => {
    for (const storage of standInAuthClients(proxy.endpoint)) {
      const body = await readMedia(storage, {
        bucket: 'reads',
        name: 'p/dir/obj.bin',
        maxRetries: 0,
        describe: 'gs://reads/p/dir/obj.bin',
      });
      expect((await bytesOf(body as Readable)).equals(data)).toBe(true);
    }
    expect(reads().map(r => r.headers.authorization)).toEqual([
      'Bearer test-token',
      undefined,
    ]);
  });
});

import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ConfigReader } from '@backstage/config';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import {
  crc32c,
  isRetryableError,
} from '@internal/backstage-plugin-dataset-migration-node';
import { GcsStorageBackend } from './GcsStorageBackend';
import { sendSmallUpload } from './smallUpload';
import { GcsTestServer } from './testing/GcsTestServer';
import { hexCrc32c, md5Hex, standInAuthClients } from './testing/standInAuth';
import {
  FaultProxy,
  FaultRequestInfo,
  startFaultProxy,
} from './testing/faultProxy';

jest.setTimeout(60_000);

describe('small GCS uploads: one multipart POST', () => {
  let server: GcsTestServer;
  let proxy: FaultProxy;
  let seen: FaultRequestInfo[];

  const store = async (prefix: string, extra: object = {}) =>
    GcsStorageBackend.fromConfig(
      new ConfigReader({
        datasetMigration: {
          storage: {
            gcs: { apiEndpoint: proxy.endpoint, projectId: 'test', ...extra },
          },
        },
      }),
    ).open(parseLocation(`gs://small/${prefix}`));

  const uploads = () =>
    seen.filter(r => r.method === 'POST' && /uploadType=/.test(r.url));

  beforeAll(async () => {
    server = await GcsTestServer.start({ buckets: ['small'] });
    proxy = await startFaultProxy(server.endpoint);
  });
  beforeEach(() => {
    seen = [];
    proxy.setDecider(req => {
      seen.push(req);
      return undefined;
    });
  });
  afterAll(async () => {
    await proxy?.stop();
    await server?.stop();
  });

  it('stores the bytes with their CRC32C, and a content type given or guessed from the name', async () => {
    const s = await store('types');
    const data = randomBytes(10_000);
    const written = await s.write('t/x.csv', Readable.from([data]), {
      size: data.length,
    });
    await s.write('t/y.csv', Readable.from([data]), {
      size: data.length,
      contentType: 'application/x-given',
    });
    await s.write('t/noext', Readable.from([]), { size: 0 });
    // A content type cannot add headers to the media part.
    await s.write('t/crlf', Readable.from([data]), {
      size: data.length,
      contentType: 'text/plain\r\nX-Injected: yes',
    });
    // One request each, not the client library's (which names itself in
    // x-goog-api-client).
    expect(uploads().map(r => r.url)).toEqual(
      ['x.csv', 'y.csv', 'noext', 'crlf'].map(
        n =>
          `/upload/storage/v1/b/small/o?uploadType=multipart&name=types%2Ft%2F${n}`,
      ),
    );
    expect(uploads().map(r => r.headers['x-goog-api-client'])).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(written).toEqual({
      size: data.length,
      checksums: { crc32c: hexCrc32c(crc32c(data)), md5: md5Hex(data) },
    });
    const bucket = server.store;
    expect(bucket.get('small', 'types/t/x.csv')?.resource.contentType).toBe(
      'text/csv',
    );
    expect(bucket.get('small', 'types/t/y.csv')?.resource.contentType).toBe(
      'application/x-given',
    );
    expect(bucket.get('small', 'types/t/crlf')?.resource.contentType).toBe(
      'text/plainX-Injected: yes',
    );
    expect(bucket.get('small', 'types/t/noext')?.resource).toMatchObject({
      size: '0',
      contentType: 'application/octet-stream',
    });
    expect(
      Buffer.concat(await (await s.read('t/x.csv')).toArray()).equals(data),
    ).toBe(true);
  });

  it('has GCS refuse bytes changed on the way, or other than the listed md5: retryable, nothing stored', async () => {
    const s = await store('refused');
    const data = randomBytes(5_000);
    proxy.setDecider(req => {
      seen.push(req);
      // A byte of the media part (after ~300 bytes of metadata) flips.
      return req.method === 'POST' ? { flipBodyByteAt: 1000 } : undefined;
    });
    const flipped = await s
      .write('flipped', Readable.from([data]), { size: data.length })
      .catch(e => e);
    expect(flipped.message).toMatch(/gs:\/\/small\/refused\/flipped.*CRC32C/);
    expect(isRetryableError(flipped)).toBe(true);

    proxy.setDecider(() => undefined);
    const listed = await s
      .write('listed', Readable.from([data]), {
        size: data.length,
        expected: { md5: md5Hex(Buffer.from('other bytes')) },
      })
      .catch(e => e);
    expect(listed.message).toMatch(/was listed with.*MD5/);
    expect(isRetryableError(listed)).toBe(true);
    expect(await s.stat('flipped')).toBeUndefined();
    expect(await s.stat('listed')).toBeUndefined();
  });

  it('refuses before sending: a listed CRC32C the bytes do not have, a body longer or shorter than announced', async () => {
    const s = await store('early');
    const data = randomBytes(3_000);
    const other = await s
      .write('crc', Readable.from([data]), {
        size: data.length,
        expected: { crc32c: hexCrc32c(crc32c(data) ^ 1) },
      })
      .catch(e => e);
    expect(other.message).toMatch(/CRC32C the source was listed with/);
    expect(isRetryableError(other)).toBe(true);
    await expect(
      s.write('long', Readable.from([data]), { size: 100 }),
    ).rejects.toThrow(/expected 100 bytes but the source delivered more/);
    await expect(
      s.write('short', Readable.from([data]), { size: 4_000 }),
    ).rejects.toThrow(/expected 4000 bytes but the source delivered 3000/);
    expect(uploads()).toEqual([]);
    expect(await s.stat('long')).toBeUndefined();
  });

  it('re-sends after a dropped connection, and names a missing bucket', async () => {
    const s = await store('dropped');
    const data = randomBytes(20_000);
    let posts = 0;
    proxy.setDecider(req => {
      seen.push(req);
      return req.method === 'POST' && ++posts === 1
        ? { dropAfterBodyBytes: 5_000 }
        : undefined;
    });
    await s.write('x', Readable.from([data]), { size: data.length });
    expect(uploads()).toHaveLength(2);
    expect(
      Buffer.concat(await (await s.read('x')).toArray()).equals(data),
    ).toBe(true);

    const missing = await GcsStorageBackend.fromConfig(
      new ConfigReader({
        datasetMigration: {
          storage: { gcs: { apiEndpoint: proxy.endpoint, projectId: 't' } },
        },
      }),
    ).open(parseLocation('gs://no-such-bucket/p'));
    await expect(
      missing.write('x', Readable.from([data]), { size: data.length }),
    ).rejects.toMatchObject({
      name: 'NotFoundError',
      message: expect.stringContaining('gs://no-such-bucket/p/x'),
    });
  });

  it("authorises with the client's credentials, except on an emulator endpoint without useAuthWithCustomEndpoint", async () => {
    const data = Buffer.from('authorised');
    for (const [i, storage] of standInAuthClients(proxy.endpoint).entries()) {
      await sendSmallUpload(storage, {
        bucket: 'small',
        name: `auth/${i}`,
        body: data,
        maxRetries: 0,
        describe: 'gs://small/auth',
      });
    }
    expect(uploads().map(r => r.headers.authorization)).toEqual([
      'Bearer test-token',
      undefined,
    ]);
  });
});

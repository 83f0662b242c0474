import { Storage } from '@google-cloud/storage';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { crc32c } from '@internal/backstage-plugin-dataset-migration-node';
import { GcsTestServer } from './GcsTestServer';

function gcsHashes(data: Buffer) {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32c(data));
  return {
    md5Hash: createHash('md5').update(data).digest('base64'),
    crc32c: crc.toString('base64'),
  };
}

async function readAll(stream: NodeJS.ReadableStream) {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

describe('GcsTestServer through @google-cloud/storage', () => {
  let server: GcsTestServer;
  let storage: Storage;

  beforeAll(async () => {
    server = await GcsTestServer.start({
      buckets: ['b1'],
      rewriteChunkBytes: 1000,
    });
    storage = new Storage({ apiEndpoint: server.endpoint, projectId: 'test' });
  });
  afterAll(() => server.stop());

  it('creates buckets and refuses duplicates', async () => {
    await storage.createBucket('b2');
    const [exists] = await storage.bucket('b2').exists();
    expect(exists).toBe(true);
    await expect(storage.createBucket('b2')).rejects.toMatchObject({
      code: 409,
    });
    const [missing] = await storage.bucket('nope').exists();
    expect(missing).toBe(false);
  });

  it('stores a multipart upload with GCS hashes in the metadata', async () => {
    const data = randomBytes(70_000);
    const before = server.stats.uploads.multipart;
    const file = storage.bucket('b1').file('dir/ä b.bin');
    await file.save(data, {
      resumable: false,
      contentType: 'application/x-test',
    });
    expect(server.stats.uploads.multipart).toBe(before + 1);
    const [meta] = await file.getMetadata();
    expect(meta).toMatchObject({
      name: 'dir/ä b.bin',
      size: '70000',
      contentType: 'application/x-test',
      ...gcsHashes(data),
    });
    // the client validates crc32c/md5 of the download against x-goog-hash
    expect((await file.download())[0].equals(data)).toBe(true);
  });

  it('accepts a chunked resumable upload and serves ranges', async () => {
    const data = randomBytes(3 * 256 * 1024 + 123);
    const before = server.stats.resumableChunks;
    const file = storage.bucket('b1').file('big.bin');
    await file.save(data, { resumable: true, chunkSize: 256 * 1024 });
    expect(server.stats.resumableChunks - before).toBe(4);
    const [meta] = await file.getMetadata();
    expect(meta).toMatchObject({
      size: String(data.length),
      ...gcsHashes(data),
    });
    const part = await readAll(
      file.createReadStream({ start: 1000, end: 299_999, validation: false }),
    );
    expect(part.equals(data.subarray(1000, 300_000))).toBe(true);
  });

  it('accepts a single-request resumable upload and zero-byte objects', async () => {
    const file = storage.bucket('b1').file('stream.bin');
    const data = randomBytes(100_000);
    await file.save(data, { resumable: true });
    expect((await file.download())[0].equals(data)).toBe(true);
    const empty = storage.bucket('b1').file('empty');
    await empty.save(Buffer.alloc(0), { resumable: true });
    const [meta] = await empty.getMetadata();
    expect(meta).toMatchObject({ size: '0', ...gcsHashes(Buffer.alloc(0)) });
    expect((await empty.download())[0].length).toBe(0);
  });

  it("speaks Go's resumable dialect: POSTed chunks, 308 as a header", async () => {
    const created = await fetch(
      `${server.endpoint}/upload/storage/v1/b/b1/o?uploadType=resumable&name=go.bin`,
      { method: 'POST', body: '{}' },
    );
    const session = created.headers.get('location')!;
    const data = randomBytes(256 * 1024 + 10);
    const first = await fetch(session, {
      method: 'POST',
      body: data.subarray(0, 256 * 1024),
      headers: {
        'Content-Range': `bytes 0-${256 * 1024 - 1}/*`,
        'X-Guploader-No-308': 'yes',
      },
    });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-http-status-code-override')).toBe('308');
    expect(first.headers.get('range')).toBe(`bytes=0-${256 * 1024 - 1}`);
    const last = await fetch(session, {
      method: 'POST',
      body: data.subarray(256 * 1024),
      headers: {
        'Content-Range': `bytes ${256 * 1024}-${data.length - 1}/${
          data.length
        }`,
        'X-Guploader-No-308': 'yes',
      },
    });
    expect(last.status).toBe(200);
    expect(await last.json()).toMatchObject({
      name: 'go.bin',
      size: String(data.length),
      ...gcsHashes(data),
    });
  });

  it('hashes a resumable upload as it arrives: a cut request and re-sent bytes count once', async () => {
    const created = await fetch(
      `${server.endpoint}/upload/storage/v1/b/b1/o?uploadType=resumable&name=cut.bin`,
      { method: 'POST', body: '{}' },
    );
    const session = created.headers.get('location')!;
    const rehashed = server.stats.resumableRehashed;
    const data = randomBytes(3 * 256 * 1024);
    const chunk = 256 * 1024;
    const put = (from: number, to: number) =>
      fetch(session, {
        method: 'PUT',
        body: data.subarray(from, to),
        headers: {
          'Content-Range': `bytes ${from}-${to - 1}/${data.length}`,
        },
      });
    expect((await put(0, chunk)).status).toBe(308);
    // Half of the next chunk's bytes, then the connection drops.
    await new Promise<void>(resolve => {
      const request = http.request(session, {
        method: 'PUT',
        headers: {
          'Content-Length': String(chunk),
          'Content-Range': `bytes ${chunk}-${2 * chunk - 1}/${data.length}`,
        },
      });
      request.on('error', () => resolve());
      request.write(data.subarray(chunk, chunk + chunk / 2), () =>
        setTimeout(() => {
          request.destroy();
          resolve();
        }, 100),
      );
    });
    const status = await fetch(session, {
      method: 'PUT',
      headers: { 'Content-Range': `bytes */${data.length}` },
    });
    expect(status.headers.get('range')).toBe(`bytes=0-${chunk - 1}`);
    // Re-sent from before what the server has: the overlap is skipped.
    expect((await put(100, 2 * chunk)).status).toBe(308);
    const last = await put(2 * chunk, data.length);
    expect(last.status).toBe(200);
    expect(await last.json()).toMatchObject({
      size: String(data.length),
      ...gcsHashes(data),
    });
    // From the hashes kept as the bytes came, not by reading the file again.
    expect(server.stats.resumableRehashed).toBe(rehashed);
    const [stored] = await storage.bucket('b1').file('cut.bin').download();
    expect(stored.equals(data)).toBe(true);
  });

  it("serves an object's mediaLink (as rclone downloads), of its current generation only", async () => {
    const data = randomBytes(5000);
    const file = storage.bucket('b1').file('linked/ä b.bin');
    await file.save(data, { resumable: false });
    const [meta] = await file.getMetadata();
    expect(meta.mediaLink).toBe(
      `${server.endpoint}/download/storage/v1/b/b1/o/linked%2F%C3%A4%20b.bin?generation=${meta.generation}&alt=media`,
    );
    const linked = await fetch(meta.mediaLink!);
    expect(linked.status).toBe(200);
    expect(linked.headers.get('x-goog-generation')).toBe(
      String(meta.generation),
    );
    expect(Buffer.from(await linked.arrayBuffer()).equals(data)).toBe(true);

    server.store.overwriteSync('b1', 'linked/ä b.bin', Buffer.from('newer'));
    const stale = await fetch(meta.mediaLink!);
    expect(stale.status).toBe(404);
    const [now] = await file.getMetadata();
    expect(now.mediaLink).toContain(`generation=${now.generation}&`);
    expect(await (await fetch(now.mediaLink!)).text()).toBe('newer');
  });

  it('stores a media upload', async () => {
    const res = await fetch(
      `${server.endpoint}/upload/storage/v1/b/b1/o?uploadType=media&name=media.txt`,
      {
        method: 'POST',
        body: 'hello',
        headers: { 'content-type': 'text/plain' },
      },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      name: 'media.txt',
      size: '5',
      ...gcsHashes(Buffer.from('hello')),
    });
  });

  it('lists with prefix, maxResults and pageToken', async () => {
    const bucket = storage.bucket('b1');
    for (let i = 0; i < 7; i++) {
      await bucket.file(`list/${i}`).save(String(i), { resumable: false });
    }
    await bucket.file('listing-not-me').save('x', { resumable: false });
    const names: string[] = [];
    let query: any = { prefix: 'list/', maxResults: 3, autoPaginate: false };
    let pages = 0;
    while (query) {
      const [files, next] = await bucket.getFiles(query);
      names.push(...files.map(f => f.name));
      pages++;
      query = next;
    }
    expect(pages).toBe(3);
    expect(names).toEqual([0, 1, 2, 3, 4, 5, 6].map(i => `list/${i}`));
  });

  it('deletes and reports missing objects as 404', async () => {
    const file = storage.bucket('b1').file('gone');
    await file.save('x', { resumable: false });
    await file.delete();
    await expect(file.getMetadata()).rejects.toMatchObject({ code: 404 });
    await expect(file.delete()).rejects.toMatchObject({ code: 404 });
    await file.delete({ ignoreNotFound: true });
  });

  it('rewrites across calls with a rewrite token', async () => {
    const data = randomBytes(3500);
    const src = storage.bucket('b1').file('src');
    await src.save(data, { resumable: false });
    const before = server.stats.rewriteCalls;
    await src.copy(storage.bucket('b1').file('copy/of src'));
    expect(server.stats.rewriteCalls - before).toBe(4);
    const [copy] = await storage.bucket('b1').file('copy/of src').download();
    expect(copy.equals(data)).toBe(true);
  });
});

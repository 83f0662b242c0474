import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { ConfigReader } from '@backstage/config';
import { sha256Of } from './checksums';
import { readEngineConfig } from './config';
import { HASH_MESSAGE_BYTES, HashThreads } from './hashThreads';

const MiB = 1024 * 1024;

/** `data` as a stream of chunks of uneven sizes (up to 300 KiB). */
function chunked(data: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = 1 + ((i * 104729) % (300 * 1024));
    chunks.push(data.subarray(at, at + n));
    at += n;
  }
  return Readable.from(chunks, { objectMode: false });
}

const expected = (data: Buffer) =>
  createHash('sha256').update(data).digest('hex');

describe('sha256Of on hashing threads', () => {
  const threads = new HashThreads(2);
  afterAll(() => threads.stop());

  it.each([
    ['empty', 0],
    ['under one message', HASH_MESSAGE_BYTES - 1],
    ['exactly one message', HASH_MESSAGE_BYTES],
    ['several messages and a rest', 9 * MiB + 12345],
  ])('hashes a body %s as the main thread does', async (_what, size) => {
    const data = randomBytes(size);
    await expect(sha256Of(chunked(data), undefined, threads)).resolves.toEqual({
      sha256: expected(data),
      size,
    });
    expect(threads.pending).toBe(0);
  });

  it('hashes several bodies at once, each its own', async () => {
    const bodies = Array.from({ length: 6 }, (_, i) =>
      randomBytes(3 * MiB + i * 1000),
    );
    const results = await Promise.all(
      bodies.map(b => sha256Of(chunked(b), undefined, threads)),
    );
    expect(results.map(r => r.sha256)).toEqual(bodies.map(expected));
    expect(threads.pending).toBe(0);
  });

  it('hashes on the main thread when given no threads', async () => {
    const none = new HashThreads(0);
    expect(none.enabled).toBe(false);
    const data = randomBytes(3 * MiB);
    await expect(sha256Of(chunked(data), undefined, none)).resolves.toEqual({
      sha256: expected(data),
      size: data.length,
    });
  });

  it('hashes on the main thread when no thread will start', async () => {
    const broken = new HashThreads(1);
    jest.spyOn(broken, 'open').mockImplementation(() => {
      throw new Error('ERR_WORKER_INIT_FAILED');
    });
    const data = randomBytes(5 * MiB + 3);
    await expect(sha256Of(chunked(data), undefined, broken)).resolves.toEqual({
      sha256: expected(data),
      size: data.length,
    });
    expect(broken.open).toHaveBeenCalledTimes(1);
  });

  it('stops reading on abort and leaves nothing on the thread', async () => {
    const body = new PassThrough();
    const controller = new AbortController();
    const hashing = sha256Of(body, controller.signal, threads);
    body.write(randomBytes(3 * MiB));
    await new Promise(r => setTimeout(r, 50));
    expect(threads.pending).toBe(1);
    controller.abort(new Error('cancelled by the test'));
    await expect(hashing).rejects.toThrow('cancelled by the test');
    expect(body.destroyed).toBe(true);
    expect(threads.pending).toBe(0);
  });

  it('fails a body whose thread stopped, and hashes the next on a new one', async () => {
    const own = new HashThreads(1);
    const body = new PassThrough();
    const hashing = sha256Of(body, undefined, own);
    body.write(randomBytes(2 * MiB));
    await new Promise(r => setTimeout(r, 50));
    await own.stop();
    body.end(randomBytes(10));
    await expect(hashing).rejects.toThrow('The hashing thread exited');

    const data = randomBytes(2 * MiB + 1);
    await expect(sha256Of(chunked(data), undefined, own)).resolves.toEqual({
      sha256: expected(data),
      size: data.length,
    });
    await own.stop();
  });

  it('takes workers.hashThreads from config: 0 hashes on the main thread', async () => {
    const read = (hashThreads?: number) =>
      readEngineConfig(
        new ConfigReader({ datasetMigration: { workers: { hashThreads } } }),
      ).hashThreads;
    expect(read()).toBeUndefined();
    expect(read(0)).toBe(0);
    expect(read(3)).toBe(3);
    for (const bad of [-1, 1.5, 17]) {
      expect(() => read(bad)).toThrow(
        'datasetMigration.workers.hashThreads must be an integer from 0 to 16',
      );
    }

    const own = new HashThreads(2);
    own.configure(0);
    expect(own.enabled).toBe(false);
    const open = jest.spyOn(own, 'open');
    const data = randomBytes(3 * MiB);
    await expect(sha256Of(chunked(data), undefined, own)).resolves.toEqual({
      sha256: expected(data),
      size: data.length,
    });
    expect(open).not.toHaveBeenCalled();

    own.configure(1);
    await expect(sha256Of(chunked(data), undefined, own)).resolves.toEqual({
      sha256: expected(data),
      size: data.length,
    });
    expect(open).toHaveBeenCalledTimes(1);
    await own.stop();
  });
});

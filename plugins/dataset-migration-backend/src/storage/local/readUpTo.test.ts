import { Readable } from 'node:stream';
import { readUpTo } from './readUpTo';

async function bytesOf(stream: Readable) {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

const pieces = (count: number, size: number) =>
  Array.from({ length: count }, (_, i) => Buffer.alloc(size, i));

describe('readUpTo', () => {
  it('reads a body that ends within the limit whole, into its own buffer', async () => {
    const parts = pieces(3, 10);
    const head = await readUpTo(Readable.from(parts), 30);
    expect(head.ended).toBe(true);
    if (!head.ended) return;
    expect(Buffer.from(head.data)).toEqual(Buffer.concat(parts));
    // Its own memory, exactly the body's size (transferable to a worker).
    expect(head.data.buffer.byteLength).toBe(30);
    const empty = await readUpTo(Readable.from([]), 30);
    expect(empty).toEqual({ ended: true, data: new Uint8Array(0) });
  });

  it('gives a longer body back whole, having read only past the limit', async () => {
    const parts = pieces(50, 1000);
    let pulled = 0;
    const body = Readable.from(
      (function* gen() {
        for (const p of parts) {
          pulled += 1;
          yield p;
        }
      })(),
    );
    const head = await readUpTo(body, 2500);
    expect(head.ended).toBe(false);
    if (head.ended) return;
    // Three chunks held (the limit plus one chunk), and the stream's read-ahead.
    expect(pulled).toBeLessThan(25);
    expect(await bytesOf(head.rest)).toEqual(Buffer.concat(parts));
  });

  it('rejects with the body error, or the abort, and destroys the body', async () => {
    const failing = new Readable({
      read() {
        this.push('part');
        this.destroy(new Error('connection lost'));
      },
    });
    await expect(readUpTo(failing, 100)).rejects.toThrow('connection lost');

    const slow = new Readable({ read() {} });
    const controller = new AbortController();
    const reading = readUpTo(slow, 100, controller.signal);
    slow.push('a');
    controller.abort(new Error('lease lost'));
    await expect(reading).rejects.toThrow('lease lost');
    expect(slow.destroyed).toBe(true);

    await expect(
      readUpTo(Readable.from(['x']), 100, AbortSignal.abort()),
    ).rejects.toThrow();
  });

  it('destroys the body when the stream of the rest is destroyed early', async () => {
    const body = new Readable({ read() {} });
    const reading = readUpTo(body, 4);
    body.push('12345');
    const head = await reading;
    if (head.ended) throw new Error('expected the rest');
    head.rest.on('error', () => {});
    head.rest.destroy(new Error('aborted write'));
    await new Promise(resolve => setImmediate(resolve));
    expect(body.destroyed).toBe(true);
  });
});

import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * A deterministic pseudo-random stream of `size` bytes (xorshift, fast and
 * reproducible from `seed`), produced lazily so large test objects never sit
 * in memory.
 */
export function generatedStream(
  size: number,
  seed = 1,
  chunkSize = 1024 * 1024,
): Readable {
  let x = seed >>> 0 || 1;
  let remaining = size;
  return new Readable({
    read() {
      if (remaining <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(chunkSize, remaining);
      const words = new Uint32Array(Math.ceil(n / 4));
      for (let i = 0; i < words.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        words[i] = x >>> 0;
      }
      remaining -= n;
      this.push(Buffer.from(words.buffer, 0, n));
    },
  });
}

/** sha256 (hex) and length of a stream. */
export async function hashStream(stream: NodeJS.ReadableStream) {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/** Reads a stream to its end, keeping only its sha256 and length. */
export async function sha256Of(
  body: Readable,
  signal?: AbortSignal,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  // A plain loop, not `pipeline` (whose AbortController costs ~35 µs per
  // call); leaving the loop, by an error or an abort, destroys the body.
  const onAbort = () => body.destroy(signal?.reason);
  signal?.throwIfAborted();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return { sha256: hash.digest('hex'), size };
}

const MOD = 1n << 256n;

/**
 * Order-independent digest of a set of lines: the sum of their sha256 values
 * modulo 2^256. It equals a hash of the sorted listing for change detection
 * purposes, yet needs neither sorting nor holding the listing in memory.
 */
export class SetDigest {
  private sum = 0n;
  count = 0;
  bytes = 0;

  add(line: string, size: number) {
    const h = createHash('sha256').update(line).digest('hex');
    this.sum = (this.sum + BigInt(`0x${h}`)) % MOD;
    this.count += 1;
    this.bytes += size;
  }

  digest(): string {
    return `sha256-sum:${this.sum.toString(16).padStart(64, '0')}`;
  }
}

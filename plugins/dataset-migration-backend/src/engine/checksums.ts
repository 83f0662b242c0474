import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Reads a stream to its end, keeping only its sha256 and length. */
export async function sha256Of(
  body: Readable,
  signal?: AbortSignal,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    body,
    async function* sink(source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        size += chunk.length;
      }
    },
    { signal },
  );
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

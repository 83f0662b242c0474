import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  HASH_MESSAGE_BYTES,
  HashThreads,
  hashThreads,
  messageBuffer,
  OffThreadSha256,
} from './hashThreads';

/**
 * Reads a stream to its end, keeping only its sha256 and length. A body of
 * more than {@link HASH_MESSAGE_BYTES} is hashed on a worker thread
 * (hashThreads.ts): the main thread copies it there a MiB at a time.
 */
export async function sha256Of(
  body: Readable,
  signal?: AbortSignal,
  threads: HashThreads = hashThreads,
): Promise<{ sha256: string; size: number }> {
  let hash = threads.enabled ? undefined : createHash('sha256');
  let offThread: OffThreadSha256 | undefined;
  // Bytes gathered for the next message to the hashing thread.
  let staged: Buffer | undefined;
  let stagedBytes = 0;
  let size = 0;
  // A plain loop, not `pipeline` (whose AbortController costs ~35 µs per
  // call); leaving the loop, by an error or an abort, destroys the body.
  const onAbort = () => body.destroy(signal?.reason);
  signal?.throwIfAborted();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (hash) {
        hash.update(chunk);
        continue;
      }
      for (let at = 0; at < chunk.length; ) {
        staged ??= messageBuffer();
        const n = chunk.copy(staged, stagedBytes, at);
        stagedBytes += n;
        at += n;
        if (stagedBytes === HASH_MESSAGE_BYTES) {
          const full = staged;
          staged = undefined;
          stagedBytes = 0;
          offThread ??= openOrNone(threads);
          if (!offThread) {
            // No thread would start (a resource limit): hash it here.
            hash = createHash('sha256').update(full).update(chunk.subarray(at));
            break;
          }
          await offThread.update(full, true);
        }
      }
    }
    if (hash) return { sha256: hash.digest('hex'), size };
    const rest = staged?.subarray(0, stagedBytes) ?? Buffer.alloc(0);
    if (!offThread) {
      // Too small to be worth a thread.
      return { sha256: createHash('sha256').update(rest).digest('hex'), size };
    }
    if (rest.length > 0) await offThread.update(rest);
    const sha256 = await offThread.digest();
    offThread = undefined;
    return { sha256, size };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    offThread?.drop();
  }
}

/** A hash on a hashing thread, or none when no thread will start. */
function openOrNone(threads: HashThreads): OffThreadSha256 | undefined {
  try {
    return threads.open();
  } catch {
    return undefined;
  }
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

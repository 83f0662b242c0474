import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32c } from '../checksums';
import type { ObjectStore } from '../storage';

export const KiB = 1024;
export const MiB = 1024 * 1024;

export function expectedChecksums(data: Buffer): Record<string, string> {
  return {
    md5: createHash('md5').update(data).digest('hex'),
    sha256: createHash('sha256').update(data).digest('hex'),
    crc32c: crc32c(data).toString(16).padStart(8, '0'),
  };
}

/**
 * Every checksum the store reported must be right. With `required`, at least
 * one must exist (stores that know no checksums, like local files, say so
 * through `capabilities.checksums` and report none).
 */
export function expectRightChecksums(
  reported: Record<string, string | undefined> | undefined,
  data: Buffer,
  required = true,
) {
  const expected = expectedChecksums(data);
  const entries = Object.entries(reported ?? {}).filter(([, v]) => v);
  if (required) {
    expect(entries.length).toBeGreaterThan(0);
  }
  for (const [algorithm, value] of entries) {
    expect([algorithm, value]).toEqual([algorithm, expected[algorithm]]);
  }
}

export async function readAll(stream: Readable) {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The whole listing as key → size; fails on a key listed twice. */
export async function listAll(store: ObjectStore) {
  const result = new Map<string, number>();
  for await (const info of store.list()) {
    expect(result.has(info.key)).toBe(false);
    result.set(info.key, info.size);
  }
  return result;
}

/** `data` as a stream of odd-sized chunks, so no chunk edge meets a part edge. */
export function chunked(data: Buffer, chunkSize = 1_000_003): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunkSize) {
    chunks.push(data.subarray(i, i + chunkSize));
  }
  return Readable.from(chunks);
}

/** Distinct, recognisable contents for the n-th object of a test. */
export function bodyFor(key: string, n: number) {
  return Buffer.from(`${n}:${key}:${'#'.repeat(n % 5)}`);
}

let counter = 0;

/** A prefix no other test (nor an earlier run on the same server) uses. */
export function unique(name: string) {
  return `conf-${Date.now().toString(36)}-${++counter}/${name}`;
}

export const sleep = (ms: number) =>
  new Promise(resolve => setTimeout(resolve, ms));

/** Waits until `condition` holds, for at most `ms`; tells whether it did. */
export async function waitFor(condition: () => boolean, ms: number) {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) {
      return false;
    }
    await sleep(20);
  }
  return true;
}

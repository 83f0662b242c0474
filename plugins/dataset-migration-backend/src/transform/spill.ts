import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  HashingStream,
  type ObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';

/**
 * A private temp folder for one transform: DuckDB reads and writes local
 * files, so objects reach it through here (streamed, never in memory).
 * `dispose()` removes everything, whatever happened.
 */
export async function createSpillArea(base = os.tmpdir()): Promise<{
  dir: string;
  file(name: string): string;
  dispose(): Promise<void>;
}> {
  await fsp.mkdir(base, { recursive: true });
  const dir = await fsp.mkdtemp(path.join(base, 'dm-spill-'));
  return {
    dir,
    file: name => path.join(dir, name),
    dispose: () => fsp.rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Streams one object of a store into a local file, hashing it on the way;
 * returns its size and sha256.
 */
export async function spillObject(
  store: ObjectStore,
  key: string,
  file: string,
  signal?: AbortSignal,
): Promise<{ size: number; sha256: string; md5: string }> {
  const body = await store.read(key);
  const hashing = new HashingStream(['sha256', 'md5']);
  await pipeline(body, hashing, fs.createWriteStream(file), { signal });
  const digests = hashing.digests();
  return {
    size: hashing.byteCount,
    sha256: digests.sha256!,
    md5: digests.md5!,
  };
}

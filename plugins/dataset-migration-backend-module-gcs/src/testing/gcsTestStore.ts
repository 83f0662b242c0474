import { createHash, Hash, randomUUID } from 'node:crypto';
import { createReadStream, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { crc32c } from '@internal/backstage-plugin-dataset-migration-node';
import { GcsHttpError } from './http';

/** What the JSON API returns for an object (`storage#object`). */
export interface GcsObjectResource {
  kind: 'storage#object';
  id: string;
  name: string;
  bucket: string;
  generation: string;
  metageneration: string;
  contentType: string;
  size: string;
  /** base64 of the MD5 digest */
  md5Hash: string;
  /** base64 of the big-endian CRC32C */
  crc32c: string;
  etag: string;
  timeCreated: string;
  updated: string;
  storageClass: string;
  /** Where its bytes are downloaded from (some clients, e.g. rclone, use only this). */
  mediaLink?: string;
}

interface StoredObject {
  resource: GcsObjectResource;
  file: string;
}

/** Checksums a request declared for the bytes it stored (base64), as `X-Goog-Hash` carries them. */
export interface ExpectedHashes {
  crc32c?: string;
  md5?: string;
}

/** What GCS reports for an object's bytes. */
export interface ObjectHashes {
  size: number;
  /** base64 */
  md5Hash: string;
  /** base64 of the big-endian CRC32C */
  crc32c: string;
}

/**
 * MD5, CRC32C and size of bytes hashed as they arrive, as GCS computes them
 * while it receives an upload (so finalising a large object does not re-read
 * it). `copy` forks the state, so a request that fails half-way leaves the
 * hashes of what was committed before it.
 */
export class RunningHashes {
  constructor(
    private readonly md5: Hash = createHash('md5'),
    private crc = 0,
    private bytes = 0,
  ) {}

  get size() {
    return this.bytes;
  }

  update(chunk: Buffer) {
    this.md5.update(chunk);
    this.crc = crc32c(chunk, this.crc);
    this.bytes += chunk.length;
  }

  copy() {
    return new RunningHashes(this.md5.copy(), this.crc, this.bytes);
  }

  /** The hashes so far; more bytes may follow. */
  digest(): ObjectHashes {
    const crcBytes = Buffer.alloc(4);
    crcBytes.writeUInt32BE(this.crc);
    return {
      size: this.bytes,
      md5Hash: this.md5.copy().digest('base64'),
      crc32c: crcBytes.toString('base64'),
    };
  }
}

/** Hashes a file the way GCS reports it. */
export async function hashFile(file: string): Promise<ObjectHashes> {
  const hashes = new RunningHashes();
  for await (const chunk of createReadStream(file, {
    highWaterMark: 1024 * 1024,
  })) {
    hashes.update(chunk);
  }
  return hashes.digest();
}

/**
 * Buckets and objects of the test server: metadata in memory (sorted names
 * for listing), data in files under a temp dir.
 */
export class GcsTestStore {
  readonly #buckets = new Map<string, Map<string, StoredObject>>();
  #sortedNames = new Map<string, string[] | undefined>();
  #generation = Date.now() * 1000;

  /** The server's endpoint, for objects' `mediaLink` (set once it listens). */
  mediaBase?: string;

  constructor(readonly directory: string) {}

  createBucket(name: string): boolean {
    if (this.#buckets.has(name)) {
      return false;
    }
    this.#buckets.set(name, new Map());
    return true;
  }

  hasBucket(name: string) {
    return this.#buckets.has(name);
  }

  /** A fresh file path for upload data; becomes the object's file on commit. */
  async newDataFile(): Promise<string> {
    const dir = path.join(this.directory, 'data');
    await fs.mkdir(dir, { recursive: true });
    return path.join(dir, randomUUID());
  }

  get(bucket: string, name: string): StoredObject | undefined {
    return this.#buckets.get(bucket)?.get(name);
  }

  /**
   * Makes `file` the new generation of `bucket/name`. With `expected`
   * checksums (a request's `X-Goog-Hash`), refuses other bytes as GCS does:
   * a 400, the file discarded, no new generation. `hashed`: the file's
   * hashes, computed as its bytes arrived; else the file is read to hash it.
   */
  async commit(
    bucket: string,
    name: string,
    file: string,
    contentType?: string,
    expected?: ExpectedHashes,
    hashed?: ObjectHashes,
  ): Promise<GcsObjectResource> {
    const objects = this.#buckets.get(bucket);
    if (!objects) {
      throw new Error(`no bucket ${bucket}`);
    }
    const hashes = hashed ?? (await hashFile(file));
    for (const [algorithm, given, actual] of [
      ['CRC32C', expected?.crc32c, hashes.crc32c],
      ['MD5', expected?.md5, hashes.md5Hash],
    ]) {
      if (given !== undefined && given !== actual) {
        await fs.rm(file, { force: true });
        throw new GcsHttpError(
          400,
          `Provided ${algorithm} "${given}" doesn't match calculated ${algorithm} "${actual}".`,
        );
      }
    }
    const generation = String(++this.#generation);
    const now = new Date().toISOString();
    const resource: GcsObjectResource = {
      kind: 'storage#object',
      id: `${bucket}/${name}/${generation}`,
      name,
      bucket,
      generation,
      metageneration: '1',
      contentType: contentType || 'application/octet-stream',
      size: String(hashes.size),
      md5Hash: hashes.md5Hash,
      crc32c: hashes.crc32c,
      etag: Buffer.from(generation).toString('base64'),
      timeCreated: now,
      updated: now,
      storageClass: 'STANDARD',
      ...this.#mediaLink(bucket, name, generation),
    };
    const previous = objects.get(name);
    objects.set(name, { resource, file });
    if (!previous) {
      this.#sortedNames.set(bucket, undefined);
    } else {
      await fs.rm(previous.file, { force: true });
    }
    return resource;
  }

  /**
   * Replaces an object's bytes at once, as another writer would behind every
   * client's back (a new generation with fresh checksums). Synchronous, so a
   * test can do it from a fault proxy's decider before a request goes on.
   */
  overwriteSync(bucket: string, name: string, data: Buffer): void {
    const stored = this.get(bucket, name);
    if (!stored) {
      throw new Error(`no object ${bucket}/${name}`);
    }
    writeFileSync(stored.file, data);
    const crcBytes = Buffer.alloc(4);
    crcBytes.writeUInt32BE(crc32c(data));
    const generation = String(++this.#generation);
    stored.resource = {
      ...stored.resource,
      id: `${bucket}/${name}/${generation}`,
      generation,
      size: String(data.length),
      md5Hash: createHash('md5').update(data).digest('base64'),
      crc32c: crcBytes.toString('base64'),
      etag: Buffer.from(generation).toString('base64'),
      updated: new Date().toISOString(),
      ...this.#mediaLink(bucket, name, generation),
    };
  }

  /** `{ mediaLink }` of one generation, once the server's endpoint is known. */
  #mediaLink(bucket: string, name: string, generation: string) {
    if (!this.mediaBase) return {};
    const download = `/download/storage/v1/b/${encodeURIComponent(
      bucket,
    )}/o/${encodeURIComponent(name)}`;
    return {
      mediaLink: `${this.mediaBase}${download}?generation=${generation}&alt=media`,
    };
  }

  async delete(bucket: string, name: string): Promise<boolean> {
    const objects = this.#buckets.get(bucket);
    const stored = objects?.get(name);
    if (!objects || !stored) {
      return false;
    }
    objects.delete(name);
    this.#sortedNames.set(bucket, undefined);
    await fs.rm(stored.file, { force: true });
    return true;
  }

  /** Lexicographic (UTF-16 code unit, close enough for tests) page of names. */
  list(
    bucket: string,
    options: {
      prefix: string;
      startAfter?: string;
      /** Inclusive (GCS `startOffset`); `startAfter` (a page token) wins. */
      startAt?: string;
      maxResults: number;
    },
  ): { items: GcsObjectResource[]; last?: string; more: boolean } {
    const objects = this.#buckets.get(bucket)!;
    let names = this.#sortedNames.get(bucket);
    if (!names) {
      names = [...objects.keys()].sort();
      this.#sortedNames.set(bucket, names);
    }
    let lo = 0;
    let hi = names.length;
    const startAt =
      options.startAt !== undefined && options.startAt > options.prefix
        ? options.startAt
        : options.prefix;
    const from = options.startAfter ?? startAt;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (
        names[mid] < from ||
        (options.startAfter !== undefined && names[mid] === from)
      ) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    const items: GcsObjectResource[] = [];
    let i = lo;
    for (; i < names.length && items.length < options.maxResults; i++) {
      if (!names[i].startsWith(options.prefix)) {
        break;
      }
      items.push(objects.get(names[i])!.resource);
    }
    const more = i < names.length && names[i].startsWith(options.prefix);
    return { items, last: items[items.length - 1]?.name, more };
  }
}

import { createHash, Hash } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';
import type {
  ChecksumAlgorithm,
  Checksums,
} from '@internal/backstage-plugin-dataset-migration-common';

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-8: Node has
// no native CRC32C and the SDKs' implementations are not public API.
const TABLES = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    }
    tables[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[0][n];
    for (let t = 1; t < 8; t++) {
      c = tables[0][c & 0xff] ^ (c >>> 8);
      tables[t][n] = c >>> 0;
    }
  }
  return tables;
})();

/**
 * Continues a CRC32C over `data`; start with `crc = 0`.
 *
 * @public
 */
export function crc32c(data: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
  let c = ~crc >>> 0;
  let i = 0;
  const end8 = data.length - (data.length % 8);
  for (; i < end8; i += 8) {
    const a =
      (data[i] |
        (data[i + 1] << 8) |
        (data[i + 2] << 16) |
        (data[i + 3] << 24)) ^
      c;
    c =
      t7[a & 0xff] ^
      t6[(a >>> 8) & 0xff] ^
      t5[(a >>> 16) & 0xff] ^
      t4[a >>> 24] ^
      t3[data[i + 4]] ^
      t2[data[i + 5]] ^
      t1[data[i + 6]] ^
      t0[data[i + 7]];
  }
  for (; i < data.length; i++) {
    c = t0[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  }
  return ~c >>> 0;
}

/**
 * Checksum strings are lowercase hex everywhere in the plugin (CRC32C as 8 hex
 * digits, big-endian). Backends that receive base64 (GCS, S3 additional
 * checksums) convert with this.
 *
 * @public
 */
export function base64ToHex(value: string): string {
  return Buffer.from(value, 'base64').toString('hex');
}

/** @public */
export function hexToBase64(value: string): string {
  return Buffer.from(value, 'hex').toString('base64');
}

/**
 * A pass-through stream that hashes what flows through it.
 *
 * @public
 */
export class HashingStream extends Transform {
  #hashes: Array<[ChecksumAlgorithm, Hash]>;
  #crc?: number;
  #size = 0;

  constructor(algorithms: ChecksumAlgorithm[]) {
    super();
    this.#hashes = algorithms
      .filter(a => a !== 'crc32c')
      .map(a => [a, createHash(a)]);
    if (algorithms.includes('crc32c')) {
      this.#crc = 0;
    }
  }

  get byteCount(): number {
    return this.#size;
  }

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: TransformCallback,
  ) {
    this.#size += chunk.length;
    for (const [, hash] of this.#hashes) {
      hash.update(chunk);
    }
    if (this.#crc !== undefined) {
      this.#crc = crc32c(chunk, this.#crc);
    }
    callback(null, chunk);
  }

  /** Digests of everything seen so far; call once, after the stream ended. */
  digests(): Checksums {
    const result: Checksums = {};
    for (const [algorithm, hash] of this.#hashes) {
      result[algorithm] = hash.digest('hex');
    }
    if (this.#crc !== undefined) {
      result.crc32c = this.#crc.toString(16).padStart(8, '0');
    }
    return result;
  }
}

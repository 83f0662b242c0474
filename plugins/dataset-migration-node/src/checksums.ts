import { createHash, Hash } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';
import type {
  ChecksumAlgorithm,
  Checksums,
} from '@internal/backstage-plugin-dataset-migration-common';

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78). Node has no native
// CRC32C: `@node-rs/crc32` (a prebuilt binary from the npm registry, SSE4.2 /
// ARMv8 instructions, ~6 GB/s here) does it where its binary loads; this
// portable slicing-by-8 (~0.5 GB/s) everywhere else.
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

type NativeCrc32c = (data: Buffer, initial?: number) => number;

function loadNative(): NativeCrc32c | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const native = require('@node-rs/crc32').crc32c as NativeCrc32c;
    // Checked once: a binary that loads but answers wrong is not used.
    return native(Buffer.from('123456789')) === 0xe3069283 ? native : undefined;
  } catch {
    return undefined;
  }
}

const native = loadNative();

/**
 * Whether {@link crc32c} runs native code (else the portable one).
 *
 * @public
 */
export const crc32cIsNative: boolean = native !== undefined;

/**
 * Continues a CRC32C over `data`; start with `crc = 0`.
 *
 * @public
 */
export function crc32c(data: Uint8Array, crc = 0): number {
  if (!native) return crc32cPortable(data, crc);
  const buffer = Buffer.isBuffer(data)
    ? data
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return native(buffer, crc) >>> 0;
}

/**
 * The portable CRC32C {@link crc32c} falls back to.
 *
 * @public
 */
export function crc32cPortable(data: Uint8Array, crc = 0): number {
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
 * A CRC32C as S3 and GCS carry it: base64 of its 4 big-endian bytes.
 *
 * @public
 */
export function crc32cToBase64(crc: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc >>> 0);
  return bytes.toString('base64');
}

/** `mat` (32 columns over GF(2)) times `vec`. */
function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0, v = vec >>> 0; v !== 0; i++, v >>>= 1) {
    if (v & 1) sum ^= mat[i];
  }
  return sum >>> 0;
}

function gf2Square(square: Uint32Array, mat: Uint32Array) {
  for (let n = 0; n < 32; n++) square[n] = gf2Times(mat, mat[n]);
}

/**
 * The CRC32C of `A + B` from `crc32c(A)`, `crc32c(B)` and B's length, without
 * the bytes (zlib's `crc32_combine`, CRC32C polynomial): the CRC of an object
 * copied in parts, from its parts' CRCs, for the `checksum` verify mode to
 * compare with the target's full-object CRC32C. O(log length).
 *
 * @public
 */
export function crc32cCombine(
  crcA: number,
  crcB: number,
  lengthB: number,
): number {
  if (lengthB <= 0) return crcA >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = 0x82f63b78; // reflected CRC32C polynomial: one zero bit
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row;
  gf2Square(even, odd); // two zero bits
  gf2Square(odd, even); // four zero bits
  let crc = crcA >>> 0;
  let left = lengthB;
  // Apply lengthB zero bytes to crcA, squaring the operator per bit of it.
  for (;;) {
    gf2Square(even, odd);
    if (left % 2 === 1) crc = gf2Times(even, crc);
    left = Math.floor(left / 2);
    if (left === 0) break;
    gf2Square(odd, even);
    if (left % 2 === 1) crc = gf2Times(odd, crc);
    left = Math.floor(left / 2);
    if (left === 0) break;
  }
  return (crc ^ crcB) >>> 0;
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

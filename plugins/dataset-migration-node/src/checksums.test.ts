import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import {
  base64ToHex,
  crc32c,
  crc32cCombine,
  crc32cIsNative,
  crc32cPortable,
  HashingStream,
  hexToBase64,
} from './checksums';

describe('crc32c', () => {
  it('runs native code here, and agrees with the portable one in pieces and whole', () => {
    // The binary is a prebuilt npm package; the suite's machine has it.
    expect(crc32cIsNative).toBe(true);
    const data = randomBytes(1_000_003);
    const whole = crc32cPortable(data);
    expect(crc32c(data)).toBe(whole);
    let crc = 0;
    for (let i = 0; i < data.length; i += 65_521) {
      // A Uint8Array view (not a Buffer) with an offset, as streams hand out.
      const piece = new Uint8Array(
        data.buffer,
        data.byteOffset + i,
        Math.min(65_521, data.length - i),
      );
      crc = crc32c(piece, crc);
    }
    expect(crc).toBe(whole);
  });

  it.each([
    ['', 0],
    ['a', 0xc1d04330],
    ['123456789', 0xe3069283],
    ['The quick brown fox jumps over the lazy dog', 0x22620404],
  ])('crc32c(%j)', (input, expected) => {
    expect(crc32c(Buffer.from(input))).toBe(expected);
  });

  it('continues across chunk boundaries', () => {
    const data = randomBytes(100_003);
    let crc = 0;
    for (let i = 0; i < data.length; i += 7919) {
      crc = crc32c(data.subarray(i, i + 7919), crc);
    }
    expect(crc).toBe(crc32c(data));
  });
});

describe('HashingStream', () => {
  it('passes data through and reports hex digests', async () => {
    const data = randomBytes(300_000);
    const hashing = new HashingStream(['md5', 'sha256', 'crc32c']);
    const received: Buffer[] = [];
    await pipeline(
      Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
      hashing,
      new Writable({
        write(chunk, _e, cb) {
          received.push(chunk);
          cb();
        },
      }),
    );
    expect(Buffer.concat(received).equals(data)).toBe(true);
    expect(hashing.byteCount).toBe(data.length);
    expect(hashing.digests()).toEqual({
      md5: createHash('md5').update(data).digest('hex'),
      sha256: createHash('sha256').update(data).digest('hex'),
      crc32c: crc32c(data).toString(16).padStart(8, '0'),
    });
  });

  it('converts GCS-style base64 checksums', () => {
    // GCS reports crc32c("123456789") as base64 of the big-endian bytes
    expect(base64ToHex('4waSgw==')).toBe('e3069283');
    expect(hexToBase64('e3069283')).toBe('4waSgw==');
  });
});

describe('crc32cCombine', () => {
  it('gives the CRC32C of two pieces joined, from theirs and the length of the second', () => {
    const data = randomBytes(300_001);
    for (const cut of [0, 1, 7, 4096, 150_000, 300_000, 300_001]) {
      const a = data.subarray(0, cut);
      const b = data.subarray(cut);
      expect(crc32cCombine(crc32c(a), crc32c(b), b.length)).toBe(crc32c(data));
    }
  });
  it('folds many parts, as a copy in parts does', () => {
    const data = randomBytes(1_000_000);
    let crc = 0;
    for (let at = 0; at < data.length; at += 65_536) {
      const part = data.subarray(at, at + 65_536);
      crc =
        at === 0 ? crc32c(part) : crc32cCombine(crc, crc32c(part), part.length);
    }
    expect(crc).toBe(crc32c(data));
    // A change anywhere changes the combination.
    expect(crc32cCombine(crc32c(data), crc32c(Buffer.from([1])), 1)).not.toBe(
      crc32cCombine(crc32c(data), crc32c(Buffer.from([2])), 1),
    );
  });
  it('handles lengths beyond 2^32 (the operator for 5 GiB of zeros)', () => {
    const zeros = Buffer.alloc(64 * 1024 * 1024);
    // crc32c of 5 GiB of zeros, folded from 64 MiB pieces.
    const piece = crc32c(zeros);
    let folded = piece;
    for (let i = 1; i < 80; i++)
      folded = crc32cCombine(folded, piece, zeros.length);
    const total = 80 * zeros.length;
    expect(total).toBeGreaterThan(2 ** 32);
    // The same bytes as (the first piece) + (the rest), in one step whose
    // length exceeds 32 bits.
    let rest = piece;
    for (let i = 1; i < 79; i++)
      rest = crc32cCombine(rest, piece, zeros.length);
    expect(crc32cCombine(piece, rest, total - zeros.length)).toBe(folded);
  });
});

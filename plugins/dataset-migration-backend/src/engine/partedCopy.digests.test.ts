import { Readable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { crc32c } from '@internal/backstage-plugin-dataset-migration-node';
import {
  crc32cOfParts,
  partsDigest,
  partsDigestOf,
  planParts,
} from './partedCopy';
import { copyNeedsSha256 } from './verifyMode';

describe('copyNeedsSha256', () => {
  const target = (checksums: string[]) =>
    ({ capabilities: { checksums } } as any);
  it('hashes sha256 for full verification or a target without CRC32C', () => {
    expect(copyNeedsSha256({ target: target(['crc32c']) })).toBe(false);
    expect(
      copyNeedsSha256({ target: target(['md5', 'crc32c']), verify: 'none' }),
    ).toBe(false);
    expect(
      copyNeedsSha256({ target: target(['crc32c']), verify: 'full' }),
    ).toBe(true);
    expect(copyNeedsSha256({ target: target(['md5']) })).toBe(true);
    expect(copyNeedsSha256({ target: target([]), verify: 'checksum' })).toBe(
      true,
    );
  });
});

describe('planParts', () => {
  const writes = { partSizeMultiple: 5, maxSize: 1000 } as any;
  it('cuts objects larger than two parts, rounding parts to the multiple', () => {
    expect(planParts(100, 12, writes)).toEqual([
      ...[0, 15, 30, 45, 60, 75].map((offset, i) => ({
        number: i + 1,
        offset,
        size: 15,
      })),
      { number: 7, offset: 90, size: 10 },
    ]);
  });
  it('leaves small objects, huge ones, disabled parts and stores without parts whole', () => {
    expect(planParts(30, 15, writes)).toBeUndefined();
    expect(planParts(1001, 15, writes)).toBeUndefined();
    expect(planParts(100, 0, writes)).toBeUndefined();
    expect(planParts(100, 15, undefined)).toBeUndefined();
  });
});

describe('partsDigestOf', () => {
  it('hashes a stream cut at the part boundaries, whatever its chunks', async () => {
    const data = randomBytes(1000);
    const parts = planParts(1000, 300, {
      partSizeMultiple: 1,
      maxSize: 1e9,
    } as any)!;
    const expected = partsDigest(
      parts.map(p =>
        createHash('sha256')
          .update(data.subarray(p.offset, p.offset + p.size))
          .digest('hex'),
      ),
    );
    const chunks = [7, 293, 1, 450, 249].reduce<Buffer[]>((acc, n) => {
      const at = acc.reduce((s, b) => s + b.length, 0);
      return [...acc, data.subarray(at, at + n)];
    }, []);
    await expect(partsDigestOf(Readable.from(chunks), parts)).resolves.toEqual({
      sha256: expected,
      size: 1000,
    });
    const changed = Buffer.from(data);
    changed[650] ^= 1;
    const other = await partsDigestOf(Readable.from([changed]), parts);
    expect(other.sha256).not.toBe(expected);
    const longer = await partsDigestOf(
      Readable.from([data, Buffer.from('x')]),
      parts,
    );
    expect(longer).toEqual({ sha256: expected, size: 1001 });
  });
});

describe('crc32cOfParts', () => {
  it("folds the parts' CRC32Cs into the object's, or gives none when a part has none", () => {
    const data = randomBytes(10_000);
    const parts = [0, 4000, 8000].map(offset => {
      const bytes = data.subarray(offset, offset + 4000);
      return {
        size: bytes.length,
        crc32c: crc32c(bytes).toString(16).padStart(8, '0'),
      };
    });
    expect(crc32cOfParts(parts)).toBe(
      crc32c(data).toString(16).padStart(8, '0'),
    );
    expect(crc32cOfParts([parts[0], { size: 4000 }])).toBeUndefined();
  });
});

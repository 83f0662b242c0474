import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { scanRecordEnds } from './recordEnds';

const sha = (b: Buffer | string) =>
  createHash('sha256').update(b).digest('hex');

/** The object in chunks of `size` bytes, so records and quotes straddle them. */
const chunked = (text: string, size: number) => {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    chunks.push(bytes.subarray(i, i + size));
  }
  return Readable.from(chunks);
};

function partsOf(text: string, cuts: number[]) {
  const bytes = Buffer.from(text);
  const starts = [0, ...cuts];
  return starts.map((s, i) => bytes.subarray(s, cuts[i] ?? bytes.length));
}

describe('scanRecordEnds', () => {
  // Quoted fields with newlines, doubled quotes and commas; 30-byte parts
  // would cut inside several of them.
  const rows = Array.from(
    { length: 40 },
    (_, i) => `${i},"line one\nline ""two"", ${i}",x\n`,
  );
  const csv = `\uFEFFid,note,other\n${rows.join('')}`;

  it.each([1, 7, 64, 1 << 16])(
    'cuts a CSV only at record ends outside quotes (chunks of %p bytes)',
    async chunk => {
      const size = Buffer.byteLength(csv);
      const ends = await scanRecordEnds(chunked(csv, chunk), {
        format: 'csv',
        partBytes: 100,
        size,
        sniffBytes: 50,
      });
      expect(ends.size).toBe(size);
      expect(ends.sha256).toBe(sha(csv));
      expect(ends.headerEnd).toBe(Buffer.byteLength('\uFEFFid,note,other\n'));
      expect(ends.sniffEnd).toBeGreaterThanOrEqual(50);
      expect(ends.cuts.length).toBeGreaterThan(5);
      const parts = partsOf(csv, ends.cuts);
      expect(Buffer.concat(parts).toString()).toBe(csv);
      expect(ends.partSha256s).toEqual(parts.map(sha));
      // Every part after the header is whole records: the record of its
      // first line starts with a number and every part ends a record.
      const texts = parts.map(p => p.toString());
      expect(texts.every(t => t.endsWith('",x\n'))).toBe(true);
      expect(texts[0].startsWith('\uFEFFid,note,other\n')).toBe(true);
      expect(texts.slice(1).every(t => /^\d+,"line one\n/.test(t))).toBe(true);
      expect(parts.slice(0, -1).every(p => p.length >= 100)).toBe(true);
      expect(parts[parts.length - 1].length).toBeGreaterThanOrEqual(50);
    },
  );

  it('cuts NDJSON at any newline, and not before the last half part', async () => {
    const ndjson = Array.from({ length: 100 }, (_, i) =>
      JSON.stringify({ id: i, text: 'a "quoted" value' }),
    ).join('\n');
    const size = Buffer.byteLength(ndjson);
    const ends = await scanRecordEnds(chunked(ndjson, 13), {
      format: 'ndjson',
      partBytes: 1000,
      size,
    });
    expect(ends.headerEnd).toBeUndefined();
    const parts = partsOf(ndjson, ends.cuts);
    expect(parts.length).toBe(Math.floor((size - 500) / 1000) + 1);
    for (const part of parts.slice(0, -1)) {
      expect(part.toString().endsWith('}\n')).toBe(true);
      expect(part.length).toBeGreaterThanOrEqual(1000);
    }
    expect(parts[parts.length - 1].length).toBeGreaterThanOrEqual(500);
    expect(ends.partSha256s).toEqual(parts.map(sha));
  });

  it('finds no cut in an object smaller than a part and a half, or without a record end outside quotes', async () => {
    const small = 'a,b\n1,2\n3,4\n';
    expect(
      (
        await scanRecordEnds(chunked(small, 4), {
          format: 'csv',
          partBytes: 8,
          size: small.length,
        })
      ).cuts,
    ).toEqual([]);
    // An unclosed quote: every later newline is inside it.
    const open = `a,b\n1,"${'x\n'.repeat(50)}`;
    const ends = await scanRecordEnds(chunked(open, 5), {
      format: 'csv',
      partBytes: 10,
      size: open.length,
    });
    expect(ends.cuts).toEqual([]);
    expect(ends.partSha256s).toEqual([sha(open)]);
  });
});

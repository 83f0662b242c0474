import {
  parseThriftStruct,
  serializeThriftStruct,
  type ThriftField,
  type ThriftList,
  type ThriftStruct,
} from './parquetConcat';

/** A run of whole row groups of a Parquet file: bytes `[start, end)`. */
export interface ParquetSlice {
  start: number;
  end: number;
  rows: number;
}

const field = (s: ThriftStruct, id: number) => s.fields.find(f => f.id === id);
const i64 = (s: ThriftStruct, id: number) => {
  const v = field(s, id)?.value;
  return typeof v === 'bigint' ? Number(v) : undefined;
};
const groupsOf = (meta: ThriftStruct) =>
  ((field(meta, 4)?.value as ThriftList | undefined)?.items ??
    []) as ThriftStruct[];
const chunksOf = (group: ThriftStruct) =>
  ((field(group, 1)?.value as ThriftList | undefined)?.items ??
    []) as ThriftStruct[];

/** Bytes `[start, end)` a row group's column chunks occupy (pages only). */
function groupRange(group: ThriftStruct): { start: number; end: number } {
  let start = Infinity;
  let end = 0;
  for (const chunk of chunksOf(group)) {
    if (field(chunk, 1) || field(chunk, 8) || field(chunk, 9)) {
      throw new Error(
        'has column data in another file or encrypted: it cannot be cut',
      );
    }
    const md = field(chunk, 3)?.value as ThriftStruct | undefined;
    if (!md) throw new Error('has a column chunk without metadata');
    const dictionary = i64(md, 11);
    const first = dictionary ? dictionary : i64(md, 9)!;
    start = Math.min(start, first);
    end = Math.max(end, first + i64(md, 7)!);
  }
  return { start, end };
}

/**
 * Where a Parquet file (its footer) can be cut into parts of whole row
 * groups holding at least `partBytes` each (the last at least half):
 * undefined when it has fewer than two such parts, or row groups that are
 * not laid out one after the other.
 */
export function planParquetSlices(
  footer: Buffer,
  partBytes: number,
): ParquetSlice[] | undefined {
  const meta = parseThriftStruct(footer);
  if (field(meta, 8) || field(meta, 9)) return undefined;
  const groups = groupsOf(meta).map(g => ({
    ...groupRange(g),
    rows: i64(g, 3) ?? 0,
  }));
  for (let i = 1; i < groups.length; i++) {
    if (groups[i].start < groups[i - 1].end) return undefined;
  }
  const total = groups.reduce((n, g) => n + (g.end - g.start), 0);
  const slices: ParquetSlice[] = [];
  let current: ParquetSlice | undefined;
  let left = total;
  for (const g of groups) {
    if (!current) current = { start: g.start, end: g.end, rows: g.rows };
    else {
      current.end = g.end;
      current.rows += g.rows;
    }
    left -= g.end - g.start;
    if (current.end - current.start >= partBytes && left >= partBytes / 2) {
      slices.push(current);
      current = undefined;
    }
  }
  if (current) slices.push(current);
  return slices.length > 1 ? slices : undefined;
}

/**
 * The footer (with its length and magic) that makes `[slice.start,
 * slice.end)` of the file, after a leading `PAR1`, a Parquet file of its
 * own: only the slice's row groups, every page offset shifted, bloom
 * filters and page indexes (outside the slice) dropped.
 */
export function sliceFooter(footer: Buffer, slice: ParquetSlice): Buffer {
  const meta = parseThriftStruct(footer);
  const delta = BigInt(4 - slice.start);
  const shift = (s: ThriftStruct, id: number) => {
    const f = field(s, id);
    if (f && typeof f.value === 'bigint' && f.value !== 0n) f.value += delta;
  };
  const kept: ThriftStruct[] = [];
  let rows = 0n;
  for (const group of groupsOf(meta)) {
    const range = groupRange(group);
    if (range.start < slice.start || range.end > slice.end) continue;
    rows += field(group, 3)?.value as bigint;
    shift(group, 5);
    const ordinal = field(group, 7);
    if (ordinal) ordinal.value = kept.length;
    for (const chunk of chunksOf(group)) {
      // Page indexes live outside the slice.
      chunk.fields = chunk.fields.filter(f => f.id < 4 || f.id > 7);
      shift(chunk, 2);
      const md = field(chunk, 3)!.value as ThriftStruct;
      md.fields = md.fields.filter(f => f.id !== 14 && f.id !== 15);
      for (const id of [9, 10, 11]) shift(md, id);
    }
    kept.push(group);
  }
  const fields: ThriftField[] = meta.fields.map(f => {
    if (f.id === 3) return { ...f, value: rows };
    if (f.id === 4) return { ...f, value: { elemType: 12, items: kept } };
    return f;
  });
  const out = serializeThriftStruct({ fields });
  const tail = Buffer.alloc(8, 'PAR1');
  tail.writeUInt32LE(out.length, 0);
  return Buffer.concat([out, tail]);
}

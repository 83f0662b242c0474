/*
 * Concatenates Parquet files of the same schema into one file without
 * decoding values: the row groups of every part are copied byte for byte and
 * one new footer (Thrift FileMetaData, compact protocol) is written, whose
 * absolute offsets are shifted to where each part's bytes land.
 */

/** Thrift compact protocol type ids (a struct field's bool uses 1 / 2 for true / false). */
const T = { BOOL: 1, FALSE: 2, I8: 3, I16: 4, I32: 5, I64: 6, DOUBLE: 7 };
const T2 = { BINARY: 8, LIST: 9, SET: 10, MAP: 11, STRUCT: 12, UUID: 13 };

/** A decoded Thrift value; its field's (or collection's) type id says which. */
export type ThriftValue =
  | boolean
  | number // i8, i16, i32, double
  | bigint // i64, full range
  | Buffer // binary, string, uuid
  | ThriftStruct
  | ThriftList
  | ThriftMap;
/** A struct field; `type` is the compact type id (bools always use 1). */
export type ThriftField = { id: number; type: number; value: ThriftValue };
/** A struct: its fields in wire order, unknown ones included. */
export type ThriftStruct = { fields: ThriftField[] };
/** A list or a set (the enclosing type id says which). */
export type ThriftList = { elemType: number; items: ThriftValue[] };
/** A map. */
export type ThriftMap = {
  keyType: number;
  valueType: number;
  entries: Array<[ThriftValue, ThriftValue]>;
};

function must(ok: unknown, message: string): asserts ok {
  if (!ok) throw new Error(message);
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  bytes(n: number): Buffer {
    must(this.pos + n <= this.buf.length, 'Thrift data truncated');
    this.pos += n;
    return this.buf.subarray(this.pos - n, this.pos);
  }
  byte(): number {
    must(this.pos < this.buf.length, 'Thrift data truncated');
    return this.buf[this.pos++];
  }
  uvarint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
    }
    throw new Error('Thrift varint too long');
  }
  zigzag = () => {
    const u = this.uvarint();
    return (u >> 1n) ^ -(u & 1n);
  };
  value(type: number): ThriftValue {
    switch (type) {
      case T.BOOL:
      case T.FALSE: // in a collection: one byte, 1 is true (2 or 0 false)
        return this.byte() === 1;
      case T.I8:
        return (this.byte() << 24) >> 24;
      case T.I16:
      case T.I32:
        return Number(this.zigzag());
      case T.I64:
        return BigInt.asIntN(64, this.zigzag());
      case T.DOUBLE:
        return this.bytes(8).readDoubleLE(0);
      case T2.BINARY:
        return this.bytes(Number(this.uvarint()));
      case T2.UUID:
        return this.bytes(16);
      case T2.LIST:
      case T2.SET: {
        const head = this.byte();
        const size = head >> 4 === 15 ? Number(this.uvarint()) : head >> 4;
        const items = Array.from({ length: size }, () => this.value(head & 15));
        return { elemType: head & 15, items };
      }
      case T2.MAP: {
        const size = Number(this.uvarint());
        const kinds = size ? this.byte() : 0;
        const [keyType, valueType] = [kinds >> 4, kinds & 15];
        const entries = Array.from(
          { length: size },
          () =>
            [this.value(keyType), this.value(valueType)] as [
              ThriftValue,
              ThriftValue,
            ],
        );
        return { keyType, valueType, entries };
      }
      case T2.STRUCT: {
        const fields: ThriftField[] = [];
        for (let head = this.byte(), id = 0; head; head = this.byte()) {
          id = head >> 4 ? id + (head >> 4) : Number(this.zigzag());
          const ftype = head & 15;
          const isBool = ftype === T.BOOL || ftype === T.FALSE;
          const value = isBool ? ftype === T.BOOL : this.value(ftype);
          fields.push({ id, type: isBool ? T.BOOL : ftype, value });
        }
        return { fields };
      }
      default:
        throw new Error(`Unknown Thrift compact type ${type}`);
    }
  }
}

class Writer {
  readonly out: number[] = [];
  bytes = (b: Uint8Array) => b.forEach(x => this.out.push(x));
  uvarint(n: bigint) {
    let v = BigInt.asUintN(64, n);
    for (; v >= 0x80n; v >>= 7n) this.out.push(Number(v & 0x7fn) | 0x80);
    this.out.push(Number(v));
  }
  zigzag = (n: bigint) => this.uvarint((n << 1n) ^ (n >> 63n));
  value(type: number, v: ThriftValue): void {
    switch (type) {
      case T.BOOL:
      case T.FALSE:
        return void this.out.push(v ? 1 : 2);
      case T.I8:
        return void this.out.push((v as number) & 0xff);
      case T.I16:
      case T.I32:
        return this.zigzag(BigInt(v as number));
      case T.I64:
        return this.zigzag(v as bigint);
      case T.DOUBLE: {
        const b = Buffer.alloc(8);
        b.writeDoubleLE(v as number);
        return this.bytes(b);
      }
      case T2.BINARY:
        this.uvarint(BigInt((v as Buffer).length));
        return this.bytes(v as Buffer);
      case T2.UUID:
        return this.bytes(v as Buffer);
      case T2.LIST:
      case T2.SET: {
        const { elemType, items } = v as ThriftList;
        this.out.push((Math.min(items.length, 15) << 4) | elemType);
        if (items.length >= 15) this.uvarint(BigInt(items.length));
        return items.forEach(item => this.value(elemType, item));
      }
      case T2.MAP: {
        const { keyType, valueType, entries } = v as ThriftMap;
        this.uvarint(BigInt(entries.length));
        if (entries.length) this.out.push((keyType << 4) | valueType);
        return entries.forEach(([k, x]) => {
          this.value(keyType, k);
          this.value(valueType, x);
        });
      }
      case T2.STRUCT: {
        let last = 0;
        for (const f of (v as ThriftStruct).fields) {
          const isBool = f.type === T.BOOL || f.type === T.FALSE;
          const ftype = isBool && !f.value ? T.FALSE : f.type;
          const delta = f.id - last;
          if (delta > 0 && delta < 16) this.out.push((delta << 4) | ftype);
          else {
            this.out.push(ftype);
            this.zigzag(BigInt(f.id));
          }
          if (!isBool) this.value(ftype, f.value);
          last = f.id;
        }
        return void this.out.push(0);
      }
      default:
        throw new Error(`Unknown Thrift compact type ${type}`);
    }
  }
}

/** Parses one Thrift struct (compact protocol) that must span all of `buf`. */
export function parseThriftStruct(buf: Buffer): ThriftStruct {
  const reader = new Reader(buf);
  const struct = reader.value(T2.STRUCT) as ThriftStruct;
  must(
    reader.pos === buf.length,
    `Thrift struct ends at ${reader.pos} of ${buf.length}`,
  );
  return struct;
}

/** Serialises a struct (compact protocol); an unmodified parse gives back the same bytes. */
export function serializeThriftStruct(struct: ThriftStruct): Buffer {
  const writer = new Writer();
  writer.value(T2.STRUCT, struct);
  return Buffer.from(writer.out);
}

const field = (s: ThriftStruct, id: number) => s.fields.find(f => f.id === id);
const encode = (f?: ThriftField) =>
  f ? serializeThriftStruct({ fields: [f] }) : Buffer.alloc(0);

/** Where a Parquet file's footer (Thrift FileMetaData) is, from its last 8 bytes. */
export function footerLocation(
  fileSize: number,
  tail8: Buffer,
): { start: number; length: number } {
  must(tail8.length === 8, 'Parquet tail must be 8 bytes');
  const magic = tail8.toString('latin1', 4);
  must(
    magic !== 'PARE',
    'Parquet file has an encrypted footer (PARE); cannot concatenate',
  );
  must(
    magic === 'PAR1',
    `Not a Parquet file: magic is ${JSON.stringify(magic)}, not "PAR1"`,
  );
  const length = tail8.readUInt32LE(0);
  const start = fileSize - 8 - length;
  must(
    start >= 4,
    `Parquet footer length ${length} does not fit in ${fileSize} bytes`,
  );
  return { start, length };
}

/** One Parquet file to concatenate. */
export interface ParquetPartInput {
  /** Total bytes of the part file. */
  size: number;
  /** The footer bytes (FileMetaData, Thrift compact protocol), i.e. file bytes [footer.start, footer.start+length). */
  footer: Buffer;
}

/** How to assemble the concatenated file. */
export interface ParquetConcatPlan {
  /** What to write, in order: literal buffers and byte ranges [start, end) of part files. */
  pieces: Array<
    { bytes: Buffer } | { part: number; start: number; end: number }
  >;
  /** Total size of the assembled file. */
  size: number;
  /** Total rows (sum of num_rows). */
  rows: number;
}

// parquet.thrift `Type`, by value.
const PHYSICAL =
  'BOOLEAN INT32 INT64 INT96 FLOAT DOUBLE BYTE_ARRAY FIXED_LEN_BYTE_ARRAY';

/** "name TYPE, ..." of a schema's elements, to say how two schemas differ. */
function describeSchema(schema?: ThriftField): string {
  const items = (schema?.value as ThriftList | undefined)?.items ?? [];
  return items
    .slice(1)
    .map(e => {
      const [type, name] = [1, 4].map(
        id => field(e as ThriftStruct, id)?.value,
      );
      const physical =
        type === undefined ? 'GROUP' : PHYSICAL.split(' ')[type as number];
      return `${String(name)} ${physical ?? type}`;
    })
    .join(', ');
}

/**
 * Plans the assembled file: "PAR1", then bytes [4, footerStart) of every
 * part, then the merged footer, its length (u32 LE) and "PAR1". Throws a clear
 * Error when the parts cannot be concatenated (schemas, key/value metadata or
 * column orders differ, encryption, page index, external column chunks,
 * offsets outside the data).
 */
export function planParquetConcat(
  parts: ParquetPartInput[],
): ParquetConcatPlan {
  must(parts.length, 'No Parquet parts to concatenate');
  const metas = parts.map((p, i) => {
    try {
      return parseThriftStruct(p.footer);
    } catch (e) {
      throw new Error(`Parquet part ${i} has an unreadable footer: ${e}`);
    }
  });
  const first = metas[0];
  const pieces: ParquetConcatPlan['pieces'] = [{ bytes: Buffer.from('PAR1') }];
  const rowGroups: ThriftStruct[] = [];
  let out = 4; // where the next part's byte 4 lands
  let rows = 0n;
  metas.forEach((meta, i) => {
    const where = `Parquet part ${i}`;
    const footerStart = parts[i].size - 8 - parts[i].footer.length;
    must(footerStart >= 4, `${where} is smaller than its footer`);
    must(!field(meta, 8) && !field(meta, 9), `${where} is encrypted`);
    for (const [id, what] of [
      [2, 'schemas'],
      [5, 'key/value metadata'],
      [7, 'column orders'],
    ] as const) {
      const [a, b] = [field(first, id), field(meta, id)];
      if (encode(a).equals(encode(b))) continue;
      let detail = `part ${i} differs from part 0`;
      if (id === 2) {
        const [da, db] = [describeSchema(a), describeSchema(b)];
        detail =
          da === db
            ? `part ${i} has the same columns (${da}) as part 0 but other logical types, precision or nullability`
            : `part 0 has (${da}), part ${i} has (${db})`;
      }
      throw new Error(`Parquet parts have different ${what}: ${detail}`);
    }
    const delta = BigInt(out - 4);
    // Shifts an absolute offset; 0 stands for "not set" with some writers.
    const shift = (s: ThriftStruct, id: number, name: string) => {
      const f = field(s, id);
      if (!f || f.value === 0n) return;
      const v = f.value as bigint;
      must(
        v >= 4n && v < footerStart,
        `${where}: ${name} ${v} is outside its data [4, ${footerStart})`,
      );
      f.value = v + delta;
    };
    let groupRows = 0n;
    const groups =
      (field(meta, 4)?.value as ThriftList | undefined)?.items ?? [];
    for (const group of groups as ThriftStruct[]) {
      groupRows += field(group, 3)?.value as bigint;
      shift(group, 5, 'RowGroup.file_offset');
      const ordinal = field(group, 7);
      if (ordinal) {
        must(
          rowGroups.length <= 32767,
          'Too many row groups for an i16 ordinal',
        );
        ordinal.value = rowGroups.length;
      }
      for (const chunk of (field(group, 1)?.value as ThriftList)
        .items as ThriftStruct[]) {
        must(
          !field(chunk, 1),
          `${where} has column data in another file (file_path)`,
        );
        must(
          !field(chunk, 8) && !field(chunk, 9),
          `${where} has encrypted columns`,
        );
        must(
          !field(chunk, 4),
          `${where} has a page index; concatenation would need to rewrite it`,
        );
        shift(chunk, 2, 'ColumnChunk.file_offset');
        shift(chunk, 6, 'ColumnChunk.column_index_offset');
        const md = field(chunk, 3)?.value as ThriftStruct | undefined;
        must(md, `${where} has a column chunk without meta_data`);
        shift(md, 9, 'data_page_offset');
        shift(md, 10, 'index_page_offset');
        shift(md, 11, 'dictionary_page_offset');
        shift(md, 14, 'bloom_filter_offset');
      }
      rowGroups.push(group);
    }
    const numRows = field(meta, 3)?.value;
    must(
      groupRows === numRows,
      `${where}: num_rows ${numRows} but its row groups hold ${groupRows}`,
    );
    rows += groupRows;
    if (footerStart > 4) pieces.push({ part: i, start: 4, end: footerStart });
    out += footerStart - 4;
  });
  must(rows <= BigInt(Number.MAX_SAFE_INTEGER), `Too many rows: ${rows}`);
  const footer = serializeThriftStruct({
    fields: first.fields.map(f => {
      if (f.id === 3) return { ...f, value: rows };
      if (f.id === 4)
        return { ...f, value: { elemType: T2.STRUCT, items: rowGroups } };
      return f;
    }),
  });
  const tail = Buffer.alloc(8, 'PAR1');
  tail.writeUInt32LE(footer.length, 0);
  pieces.push({ bytes: Buffer.concat([footer, tail]) });
  return { pieces, size: out + footer.length + 8, rows: Number(rows) };
}

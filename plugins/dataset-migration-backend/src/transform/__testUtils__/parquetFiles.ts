import fs from 'node:fs';
import { footerLocation } from '../parquetConcat';

/** Bytes `[start, end)` of a local file. */
export function readRange(file: string, start: number, end: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(end - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

/** A local Parquet file's size and footer, read as the assembler reads them. */
export function sizeAndFooter(file: string): { size: number; footer: Buffer } {
  const size = fs.statSync(file).size;
  const { start, length } = footerLocation(
    size,
    readRange(file, size - 8, size),
  );
  return { size, footer: readRange(file, start, start + length) };
}

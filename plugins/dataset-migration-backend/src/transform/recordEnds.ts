import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

const QUOTE = 0x22;
const NEWLINE = 0x0a;

/** Where a text object can be cut into parts (see {@link scanRecordEnds}). */
export interface RecordEnds {
  size: number;
  sha256: string;
  /**
   * Offsets where a part ends and the next begins, ascending, each just
   * after a record's newline; empty when the object is one part.
   */
  cuts: number[];
  /** sha256 of each part's bytes (cuts.length + 1 of them). */
  partSha256s: string[];
  /** CSV: the end of the first record (the header), with its newline. */
  headerEnd?: number;
  /** CSV: the end of the first record at or after `sniffBytes`. */
  sniffEnd?: number;
}

export interface ScanOptions {
  format: 'csv' | 'ndjson';
  /** Bytes a part should hold at least. */
  partBytes: number;
  /** The object's size as listed: the last part is not cut shorter than half a part. */
  size: number;
  /** CSV: a prefix of about this size is sniffed for its dialect. */
  sniffBytes?: number;
  signal?: AbortSignal;
}

/**
 * Reads a CSV or NDJSON object once, hashing it, and finds where it can be
 * cut into parts of at least `partBytes`: just after a newline that ends a
 * record. In NDJSON every newline does. In CSV a quoted field may hold
 * newlines, so quotes are counted from the start (RFC 4180: a quote inside
 * a quoted field is doubled, which leaves the parity unchanged) and only a
 * newline outside quotes ends a record. The scan jumps from quote to quote
 * with `indexOf` and looks for newlines only where a cut is due. Cutting
 * stops when less than 1.5 parts remain, so no part is shorter than half.
 */
export async function scanRecordEnds(
  body: Readable,
  options: ScanOptions,
): Promise<RecordEnds> {
  const { partBytes, format, signal } = options;
  const csv = format === 'csv';
  const hash = createHash('sha256');
  let partHash = createHash('sha256');
  const partSha256s: string[] = [];
  const cuts: number[] = [];
  let headerEnd: number | undefined;
  let sniffEnd: number | undefined;
  const sniffAt = csv ? options.sniffBytes ?? 1024 * 1024 : Infinity;
  const lastCutBefore = options.size - Math.floor(partBytes / 2);
  let cutAt = partBytes <= lastCutBefore ? partBytes : Infinity;
  let inQuote = false;
  let base = 0;

  /** The next offset from which a record end is wanted. */
  const wanted = () =>
    Math.min(
      csv && headerEnd === undefined ? 0 : Infinity,
      sniffEnd === undefined ? sniffAt : Infinity,
      cutAt,
    );
  const recordEnd = (end: number) => {
    if (csv && headerEnd === undefined) headerEnd = end;
    if (sniffEnd === undefined && end >= sniffAt) sniffEnd = end;
    if (end < cutAt) return false;
    if (end > lastCutBefore) {
      // Less than half a part would be left: the last part takes it.
      cutAt = Infinity;
      return false;
    }
    cuts.push(end);
    cutAt = end + partBytes <= lastCutBefore ? end + partBytes : Infinity;
    return true;
  };

  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      hash.update(chunk);
      let pos = 0;
      /** Where the current part's bytes of this chunk start. */
      let hashedTo = 0;
      while (pos < chunk.length) {
        if (inQuote) {
          const q = chunk.indexOf(QUOTE, pos);
          if (q < 0) break;
          inQuote = false;
          pos = q + 1;
          continue;
        }
        const from = Math.max(pos, wanted() - base);
        if (pos < from) {
          // No record end is wanted before `from`: only quotes matter.
          const q = csv ? chunk.indexOf(QUOTE, pos) : -1;
          if (q >= 0 && q < from) {
            inQuote = true;
            pos = q + 1;
          } else {
            pos = Math.min(from, chunk.length);
          }
          continue;
        }
        const n = chunk.indexOf(NEWLINE, pos);
        const q = csv ? chunk.indexOf(QUOTE, pos) : -1;
        if (n >= 0 && (q < 0 || n < q)) {
          pos = n + 1;
          if (recordEnd(base + pos)) {
            partHash.update(chunk.subarray(hashedTo, pos));
            partSha256s.push(partHash.digest('hex'));
            partHash = createHash('sha256');
            hashedTo = pos;
          }
        } else if (q >= 0) {
          inQuote = true;
          pos = q + 1;
        } else {
          break;
        }
      }
      partHash.update(chunk.subarray(hashedTo));
      base += chunk.length;
    }
  } finally {
    body.destroy();
  }
  partSha256s.push(partHash.digest('hex'));
  return {
    size: base,
    sha256: hash.digest('hex'),
    cuts,
    partSha256s,
    headerEnd,
    sniffEnd: sniffEnd ?? (csv ? base : undefined),
  };
}

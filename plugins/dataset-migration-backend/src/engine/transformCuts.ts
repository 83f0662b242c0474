import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { finished, pipeline } from 'node:stream/promises';
import { ConflictError } from '@backstage/errors';
import type { TabularFormat } from '@internal/backstage-plugin-dataset-migration-common';
import {
  HashingStream,
  type ObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';
import type { ClaimedPart, NewPart } from '../database/PartStore';
import { uncuttableCsvDialect } from '../transform/csvDialect';
import { footerLocation } from '../transform/parquetConcat';
import { planParquetSlices, sliceFooter } from '../transform/parquetSlice';
import { scanRecordEnds } from '../transform/recordEnds';
import type { EngineContext } from './context';
import { checkSize, ItemContext } from './itemContext';

async function readAll(
  store: ObjectStore,
  key: string,
  start: number,
  end: number,
) {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.read(key, { start, end: end - 1 })) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A Parquet object's footer, by two ranged reads (its tail, then it). */
async function parquetFooter(store: ObjectStore, key: string, size: number) {
  const tail = await readAll(store, key, size - 8, size);
  const at = footerLocation(size, tail);
  return readAll(store, key, at.start, at.start + at.length);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Cuts a data object into parts of about `transform.partBytes`, or returns
 * undefined when it cannot be cut (the reason is logged):
 * - CSV and NDJSON are read once (hashed: a sha256 other than the
 *   snapshot's is drift) to find record ends (recordEnds.ts). A CSV part
 *   after the first reads the header first (`prefix`); each part keeps the
 *   sha256 of its bytes, which its reader checks.
 * - Parquet is cut by runs of whole row groups, from its footer alone (two
 *   ranged reads, nothing else is read here); each part keeps the footer's
 *   sha256, which its reader checks, and makes its row groups a file of
 *   their own (parquetSlice.ts).
 */
export async function cutObject(
  ctx: ItemContext,
  engine: EngineContext,
): Promise<NewPart[] | undefined> {
  const { item, source, signal } = ctx;
  const format = ctx.transform!.sourceFormat;
  const partBytes = engine.config.transform.partBytes;
  const whole = (why: string) => {
    engine.logger.info(
      `'${item.key}' is transformed whole, not in parts: ${why}`,
    );
    return undefined;
  };
  if (format === 'parquet') {
    const info = await source.stat(item.key);
    if (!info) {
      throw new ConflictError(
        `Source object '${item.key}' was deleted during the migration`,
      );
    }
    checkSize(item.key, item.size, info.size);
    const footer = await parquetFooter(source, item.key, item.size);
    const slices = planParquetSlices(footer, partBytes);
    if (!slices) return whole('fewer than two parts of whole row groups');
    const footerSha256 = sha256(footer);
    return slices.map((slice, i) => ({
      number: i + 1,
      offset: slice.start,
      size: slice.end - slice.start,
      sha256: footerSha256,
    }));
  }
  const scan = await scanRecordEnds(await source.read(item.key), {
    format,
    partBytes,
    size: item.size,
    signal,
  });
  checkSize(item.key, item.size, scan.size);
  if (item.sourceSha256 && item.sourceSha256 !== scan.sha256) {
    throw new ConflictError(
      `Source object '${item.key}' changed during the migration: the snapshot had sha256 ${item.sourceSha256}, the transform read ${scan.sha256}`,
    );
  }
  if (scan.cuts.length === 0) return whole('no record end to cut at');
  if (format === 'csv') {
    const why = await csvNotCuttable(ctx, scan.sniffEnd!);
    if (why) return whole(why);
  }
  await ctx.save({ sourceSha256: scan.sha256 });
  item.sourceSha256 = scan.sha256;
  const starts = [0, ...scan.cuts];
  return starts.map((offset, i) => ({
    number: i + 1,
    offset,
    size: (scan.cuts[i] ?? scan.size) - offset,
    prefix: format === 'csv' && i > 0 ? scan.headerEnd : 0,
    sha256: scan.partSha256s[i],
  }));
}

/** Why the CSV's dialect rules out cutting it (sniffed on its first records). */
async function csvNotCuttable(ctx: ItemContext, end: number) {
  return ctx.transforms.withSpill(async (conn, spill) => {
    const head = spill.file('head.csv');
    await pipeline(
      await ctx.source.read(ctx.item.key, { start: 0, end: end - 1 }),
      fs.createWriteStream(head),
      { signal: ctx.signal },
    );
    return uncuttableCsvDialect(conn, head);
  });
}

function drift(part: ClaimedPart, what: string) {
  return new ConflictError(
    `Source object '${part.key}' changed during the migration: ${what} (part ${part.number}) are not what was read when it was cut into parts`,
  );
}

/**
 * A part of the source as a local file DuckDB reads: CSV / NDJSON, bytes
 * `[0, prefix)` (the header) and the part's range, the range hashed and
 * checked; Parquet, `PAR1`, the part's row groups and a footer of their
 * own, after checking the object's footer is the one it was cut by.
 */
export async function spillPart(
  source: ObjectStore,
  part: ClaimedPart,
  file: string,
  format: TabularFormat,
  signal?: AbortSignal,
): Promise<void> {
  const range = {
    start: part.offset,
    end: part.offset + part.size - 1,
  };
  const out = fs.createWriteStream(file);
  if (format === 'parquet') {
    const info = await source.stat(part.key);
    const footer = info && (await parquetFooter(source, part.key, info.size));
    if (!footer || sha256(footer) !== part.sha256) {
      out.destroy();
      throw drift(part, 'its Parquet footer and row groups');
    }
    out.write('PAR1');
    await pipeline(await source.read(part.key, range), out, {
      end: false,
      signal,
    });
    const slice = { start: range.start, end: range.end + 1, rows: 0 };
    out.end(sliceFooter(footer, slice));
    await finished(out);
    return;
  }
  if (part.prefix > 0) {
    const head = await source.read(part.key, {
      start: 0,
      end: part.prefix - 1,
    });
    await pipeline(head, out, { end: false, signal });
  }
  const hashing = new HashingStream(['sha256']);
  await pipeline(await source.read(part.key, range), hashing, out, { signal });
  if (
    hashing.byteCount !== part.size ||
    hashing.digests().sha256 !== part.sha256
  ) {
    throw drift(part, `bytes ${range.start}–${range.end}`);
  }
}

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { ConflictError } from '@backstage/errors';
import {
  HashingStream,
  type ObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';
import type { ClaimedPart, NewPart } from '../database/PartStore';
import { uncuttableCsvDialect } from '../transform/csvDialect';
import { footerLocation } from '../transform/parquetConcat';
import { scanRecordEnds } from '../transform/recordEnds';
import { BadRowsError, transformFile } from '../transform/transformFile';
import type { EngineContext, MigrationStores } from './context';
import {
  backUpOriginal,
  checkSize,
  ItemContext,
  LeaseLostError,
  writeHashed,
} from './itemContext';
import {
  awaitParts,
  checkSourceUnchanged,
  leasedPart,
  type PartedCopyContext,
} from './partedCopy';
import {
  assembleParts,
  removeStaged,
  type PartOutcome,
} from './transformAssembly';
import { DEFAULT_SAMPLE_SIZE, EXT } from './transform';

/**
 * The upload id of a transform in parts: no upload of the target, but the
 * staging folder of its parts' outputs in the backup area.
 */
const UPLOAD = 'transform:';

export function isTransformUpload(uploadId: string | undefined): boolean {
  return uploadId?.startsWith(UPLOAD) ?? false;
}

/** Where a part's output is staged in the backup area. */
export function stagedKey(uploadId: string, number: number, ext: string) {
  return `.staging/${uploadId.slice(UPLOAD.length)}/part-${String(
    number,
  ).padStart(6, '0')}${ext}`;
}

/**
 * Whether a data object is transformed in parts: a CSV or NDJSON source
 * larger than two parts (`datasetMigration.transform.partMiB`) on a lane
 * that can share parts with others.
 */
export function transformsInParts(ctx: ItemContext): boolean {
  if (isTransformUpload(ctx.item.uploadId)) return true;
  const partBytes = ctx.parted?.engine.config.transform.partBytes ?? 0;
  const format = ctx.transform?.sourceFormat;
  return (
    partBytes > 0 &&
    (format === 'csv' || format === 'ndjson') &&
    ctx.item.size > 2 * partBytes
  );
}

/**
 * The copy stage of a large data object in a schema-transform, by the lane
 * holding it. The first time, the source is read once (hashed, checked
 * against the snapshot) to find record ends about every `partBytes`; the
 * parts are created, each a byte range read after the CSV header. Then
 * this lane transforms the parts it can claim while idle lanes of every
 * replica take others ({@link transformPart}), and once every part is
 * done it assembles the target object from their staged outputs.
 * Returns false, having written nothing, when the object cannot be cut
 * (no record end, or a CSV dialect that quote counting cannot follow).
 */
export async function transformInParts(
  ctx: ItemContext,
  parted: PartedCopyContext,
): Promise<boolean> {
  const { item, source, signal } = ctx;
  const { engine } = parted;
  const { stores, workerId } = engine;
  const transform = ctx.transform!;
  await backUpOriginal(ctx);
  let uploadId = item.uploadId;
  if (uploadId) {
    await stores.parts.requeueFailed(item.id);
  } else {
    const format = transform.sourceFormat as 'csv' | 'ndjson';
    const scan = await scanRecordEnds(await source.read(item.key), {
      format,
      partBytes: engine.config.transform.partBytes,
      size: item.size,
      signal,
    });
    checkSize(item.key, item.size, scan.size);
    if (item.sourceSha256 && item.sourceSha256 !== scan.sha256) {
      throw new ConflictError(
        `Source object '${item.key}' changed during the migration: the snapshot had sha256 ${item.sourceSha256}, the transform read ${scan.sha256}`,
      );
    }
    if (scan.cuts.length === 0) return false;
    if (format === 'csv') {
      const why = await csvNotCuttable(ctx, scan.sniffEnd!);
      if (why) {
        engine.logger.info(
          `'${item.key}' is transformed whole, not in parts: ${why}`,
        );
        return false;
      }
    }
    const starts = [0, ...scan.cuts];
    const ranges: NewPart[] = starts.map((offset, i) => ({
      number: i + 1,
      offset,
      size: (scan.cuts[i] ?? scan.size) - offset,
      prefix: format === 'csv' && i > 0 ? scan.headerEnd : 0,
      sha256: scan.partSha256s[i],
    }));
    await ctx.save({ sourceSha256: scan.sha256 });
    item.sourceSha256 = scan.sha256;
    uploadId = `${UPLOAD}${randomUUID()}`;
    engine.assertAlive();
    if (!(await stores.parts.create(item, workerId, uploadId, ranges))) {
      throw new LeaseLostError(`Lost the lease on '${item.key}'`);
    }
    item.uploadId = uploadId;
    parted.partsCreated();
  }
  const parts = await awaitParts(ctx, parted, part =>
    transformPart(engine, ctx, part),
  );
  await checkSourceUnchanged(ctx);
  const outcomes = parts.map(p => JSON.parse(p.result!) as PartOutcome);
  const stats = await assembleParts(ctx, outcomes);
  await ctx.save({
    state: 'done',
    copyMethod: 'transform',
    sourceSha256: item.sourceSha256,
    transformStats: stats,
    lastError: null,
  });
  return true;
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

/**
 * Streams bytes `[0, prefix)` and then the part's range of the source into
 * `file`, hashing the range: bytes other than the scan's are drift.
 */
async function spillPart(source: ObjectStore, part: ClaimedPart, file: string) {
  const out = fs.createWriteStream(file);
  if (part.prefix > 0) {
    const head = await source.read(part.key, {
      start: 0,
      end: part.prefix - 1,
    });
    await pipeline(head, out, { end: false });
  }
  const hashing = new HashingStream(['sha256']);
  await pipeline(
    await source.read(part.key, {
      start: part.offset,
      end: part.offset + part.size - 1,
    }),
    hashing,
    out,
  );
  if (
    hashing.byteCount !== part.size ||
    hashing.digests().sha256 !== part.sha256
  ) {
    throw new ConflictError(
      `Source object '${part.key}' changed during the migration: bytes ${
        part.offset
      }–${part.offset + part.size - 1} (part ${
        part.number
      }) are not what was read when it was cut into parts`,
    );
  }
}

/**
 * Transforms one part, by whichever lane claimed it: its range of the
 * source (after the CSV header) to a spill file, through DuckDB, and the
 * output staged in the backup area; its counts, sample and first bad rows
 * (numbered within the part) are recorded on the part for the assembly.
 */
export async function transformPart(
  engine: EngineContext,
  stores: Pick<MigrationStores, 'source' | 'backups' | 'plan'>,
  part: ClaimedPart,
): Promise<void> {
  const transform = stores.plan?.transform;
  await leasedPart(engine, part, async () => {
    if (!transform) {
      throw new Error(`Migration ${part.migrationId} has no transform`);
    }
    const { sourceFormat, targetFormat, mapping } = transform;
    const { signal } = engine;
    return engine.transforms.withSpill(async (conn, spill) => {
      const input = spill.file(`part${EXT[sourceFormat]}`);
      await spillPart(stores.source, part, input);
      const output = spill.file(`output${EXT[targetFormat]}`);
      const quarantineFile =
        mapping.badRows === 'quarantine'
          ? spill.file('quarantine.ndjson')
          : undefined;
      const counts = await engine.transforms
        .job(() =>
          transformFile(conn, {
            input,
            sourceFormat,
            output,
            targetFormat,
            mapping,
            expectedSchema: transform.sourceSchema,
            quarantineFile,
            key: part.key,
            sampleSize: mapping.sampleSize ?? DEFAULT_SAMPLE_SIZE,
            header: part.number === 1,
          }),
        )
        .catch(e => {
          if (e instanceof BadRowsError) {
            throw new BadRowsError(
              `${e.message} (part ${part.number}: rows are numbered from the part's first row, byte ${part.offset} of the object)`,
            );
          }
          throw e;
        });
      const ext = EXT[targetFormat];
      const staged = stagedKey(part.uploadId, part.number, ext);
      const { size } = await fsp.stat(output);
      const { sha256 } = await writeHashed(
        stores.backups,
        staged,
        fs.createReadStream(output, { highWaterMark: 1024 * 1024 }),
        { size, signal, extra: [] },
      );
      let quarantine: string | undefined;
      if (quarantineFile && counts.quarantined > 0) {
        quarantine = stagedKey(
          part.uploadId,
          part.number,
          '.quarantine.ndjson',
        );
        const q = await fsp.stat(quarantineFile);
        await stores.backups.write(
          quarantine,
          fs.createReadStream(quarantineFile),
          { size: q.size, signal },
        );
      }
      const outcome: PartOutcome = {
        number: part.number,
        ...counts,
        staged,
        size,
        sha256,
        quarantine,
        footer:
          targetFormat === 'parquet' ? await readFooter(output) : undefined,
      };
      return {
        token: staged,
        sha256: part.sha256!,
        result: JSON.stringify(outcome),
      };
    });
  });
}

/** A local Parquet file's footer, base64. */
async function readFooter(file: string): Promise<string> {
  const handle = await fsp.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const tail = Buffer.alloc(8);
    await handle.read(tail, 0, 8, size - 8);
    const at = footerLocation(size, tail);
    const footer = Buffer.alloc(at.length);
    await handle.read(footer, 0, at.length, at.start);
    return footer.toString('base64');
  } finally {
    await handle.close();
  }
}

/**
 * Removes the staged outputs of a transform in parts (after its validation
 * read the assembled object, or at its rollback). Parts not done have
 * none recorded; a purge of the backup area removes anything left.
 */
export async function removeStagedParts(ctx: ItemContext): Promise<void> {
  const { item, parted, backups } = ctx;
  if (!isTransformUpload(item.uploadId) || !parted) return;
  const parts = await parted.engine.stores.parts.list(item.id);
  await removeStaged(
    backups,
    parts.flatMap(p => (p.result ? [JSON.parse(p.result) as PartOutcome] : [])),
  );
}

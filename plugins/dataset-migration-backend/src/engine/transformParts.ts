import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import type { ClaimedPart } from '../database/PartStore';
import { footerLocation } from '../transform/parquetConcat';
import { BadRowsError, transformFile } from '../transform/transformFile';
import type { EngineContext, MigrationStores } from './context';
import {
  backUpOriginal,
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
import { cutObject, spillPart } from './transformCuts';

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
 * Whether a data object may be transformed in parts: larger than two parts
 * (`datasetMigration.transform.partMiB`), on a lane that can share parts
 * with others ({@link transformInParts} may still find it cannot be cut).
 */
export function transformsInParts(ctx: ItemContext): boolean {
  if (isTransformUpload(ctx.item.uploadId)) return true;
  const partBytes = ctx.parted?.engine.config.transform.partBytes ?? 0;
  return partBytes > 0 && ctx.item.size > 2 * partBytes;
}

/**
 * The copy stage of a large data object in a schema-transform, by the lane
 * holding it. The first time, the object is cut into parts of about
 * `partBytes` (transformCuts.ts: CSV and NDJSON at record ends, Parquet
 * by row groups) and the parts are created. Then
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
  const { item } = ctx;
  const { engine } = parted;
  const { stores, workerId } = engine;
  await backUpOriginal(ctx);
  let uploadId = item.uploadId;
  if (uploadId) {
    await stores.parts.requeueFailed(item.id);
  } else {
    const ranges = await cutObject(ctx, engine);
    if (!ranges) return false;
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
  await leasedPart(engine, part, async signal => {
    if (!transform) {
      throw new Error(`Migration ${part.migrationId} has no transform`);
    }
    const { sourceFormat, targetFormat, mapping } = transform;
    return engine.transforms.withSpill(async (conn, spill) => {
      // A stopped part stops DuckDB too.
      const interrupt = () => conn.interrupt();
      signal.addEventListener('abort', interrupt, { once: true });
      try {
        signal.throwIfAborted();
        const input = spill.file(`part${EXT[sourceFormat]}`);
        await spillPart(stores.source, part, input, sourceFormat, signal);
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
      } finally {
        signal.removeEventListener('abort', interrupt);
      }
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

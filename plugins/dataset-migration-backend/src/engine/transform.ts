import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { ConflictError, NotFoundError } from '@backstage/errors';
import type {
  PlannedTransform,
  TabularFormat,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { ItemTransformStats } from '../database/WorkItemStore';
import {
  hashFile,
  localStoreOf,
  objectFile,
  settledLater,
  type ObjectFile,
} from '../transform/spill';
import {
  transformFile,
  type TransformFileResult,
} from '../transform/transformFile';
import { checkTarget } from '../transform/verify';
import {
  backUpOriginal,
  checkSize,
  ItemContext,
  writeHashed,
} from './itemContext';

/** Sampled records per object when the mapping does not say. */
export const DEFAULT_SAMPLE_SIZE = 20;

/**
 * Folder of the backup area where bad rows of a `quarantine` policy go:
 * outside the target, kept (and purged) with the migration's backups.
 */
export const QUARANTINE_FOLDER = '.quarantine';

export function quarantineKey(key: string): string {
  return `${QUARANTINE_FOLDER}/${key}.ndjson`;
}

export const EXT: Record<TabularFormat, string> = {
  csv: '.csv',
  ndjson: '.ndjson',
  parquet: '.parquet',
};

function formats(t: PlannedTransform) {
  return { sourceFormat: t.sourceFormat, targetFormat: t.targetFormat };
}

/**
 * The copy stage of a data object in a schema-transform: the source object
 * is streamed (and hashed) to a spill file — or, on a local store, hashed
 * and read where it is — transformed by DuckDB into a second spill file,
 * and that output streamed (and hashed) to the target key; on a local
 * target DuckDB writes the object itself (temp file beside the key, renamed
 * into place). Row counts, bad rows, the output's sha256 and the sampled
 * records are kept on the item for the validation. Re-running after a crash
 * rewrites the same output.
 */
export async function transformItem(ctx: ItemContext): Promise<void> {
  const { item, source, target, backups, targetKey, signal } = ctx;
  const transform = ctx.transform!;
  const { mapping } = transform;
  const { sourceFormat, targetFormat } = formats(transform);
  await backUpOriginal(ctx);

  const result = await ctx.transforms.withSpill(async (conn, spill) => {
    const spilled = spill.file(`source${EXT[sourceFormat]}`);
    const input = await objectFile(source, item.key, spilled, signal);
    /** What was read, checked once to be the snapshot's object (else: drift). */
    let checked: Promise<{ size: number; sha256: string }> | undefined;
    const checkRead = () =>
      (checked ??= input.digest.then(read => {
        checkSize(item.key, item.size, read.size);
        if (item.sourceSha256 && item.sourceSha256 !== read.sha256) {
          throw new ConflictError(
            `Source object '${item.key}' changed during the migration: the snapshot had sha256 ${item.sourceSha256}, the transform read ${read.sha256}`,
          );
        }
        return read;
      }));
    // A spilled copy is hashed already: a changed object stops here.
    if (input.file === spilled) await checkRead();
    const quarantineFile =
      mapping.badRows === 'quarantine'
        ? spill.file('quarantine.ndjson')
        : undefined;
    /**
     * Transforms into `output`; returns the counts. A source read in place
     * is hashed while DuckDB reads it; what was read must be the snapshot's
     * object before anything reaches the target.
     */
    const produce = async (output: string, onWritten?: () => void) => {
      const counts = await ctx.transforms
        .job(() =>
          transformFile(conn, {
            input: input.file,
            sourceFormat,
            output,
            targetFormat,
            mapping,
            expectedSchema: transform.sourceSchema,
            quarantineFile,
            key: item.key,
            sampleSize: mapping.sampleSize ?? DEFAULT_SAMPLE_SIZE,
            onWritten,
          }),
        )
        .catch(async e => {
          // A changed object explains a failed transform best.
          await checkRead();
          throw e;
        });
      await checkRead();
      // Read in place (a local source): what DuckDB read is what was hashed.
      await input.assertUnchanged();
      if (quarantineFile && counts.quarantined > 0) {
        const { size } = await fsp.stat(quarantineFile);
        await backups.write(
          quarantineKey(item.key),
          fs.createReadStream(quarantineFile),
          { size, signal },
        );
      }
      return counts;
    };
    let outcome: { rows: TransformFileResult; size: number; sha256: string };
    const local = localStoreOf(target);
    if (local) {
      // A local target: DuckDB writes the object itself (a temp file beside
      // the key, renamed into place), no copy of the output is made.
      // The output is hashed while DuckDB's counting pass reads the source.
      let filled: typeof outcome | undefined;
      await local.writeFile(targetKey, async temp => {
        let hashed: ReturnType<typeof hashFile> | undefined;
        const counts = await produce(temp, () => {
          hashed = settledLater(hashFile(temp, signal));
        });
        // Set: a transform that returns has written its output.
        filled = { rows: counts, ...(await hashed!) };
      });
      outcome = filled!;
    } else {
      const output = spill.file(`output${EXT[targetFormat]}`);
      const counts = await produce(output);
      const { size } = await fsp.stat(output);
      const { sha256 } = await writeHashed(
        target,
        targetKey,
        // 1 MiB reads: 64 KiB chunks cost ~0.1 s per 100 MB.
        fs.createReadStream(output, { highWaterMark: 1024 * 1024 }),
        // The validation re-reads the output and compares sha256 only.
        { size, signal, extra: [] },
      );
      outcome = { rows: counts, size, sha256 };
    }
    const { rows, size, sha256 } = outcome;
    const stats: ItemTransformStats = {
      sourceRows: rows.sourceRows,
      filtered: rows.filtered,
      bad: rows.bad,
      quarantined: rows.quarantined,
      written: rows.written,
      badRows: rows.badRows,
      output: { key: targetKey, sha256, size },
      sample: rows.sample,
    };
    return { read: await checkRead(), stats };
  });

  await ctx.save({
    state: 'done',
    copyMethod: 'transform',
    sourceSha256: result.read.sha256,
    transformStats: result.stats,
    lastError: null,
  });
}

/**
 * The validate stage of a transformed object, in layers: the target object
 * is re-read and its sha256 compared with what the transform wrote; then
 * DuckDB reads it back with the mapping's target schema: the schema, the
 * row count (source − filtered − bad) and the sampled records, field by
 * field. The first failed layer is the item's problem.
 */
export async function validateTransformedItem(ctx: ItemContext): Promise<void> {
  const { item, target, targetKey, signal } = ctx;
  const transform = ctx.transform!;
  const stats = item.transformStats;
  if (!stats) {
    throw new Error(
      `'${item.key}' has no transform results; it was not transformed`,
    );
  }
  const found = await ctx.transforms.withSpill(async (conn, spill) => {
    let file: ObjectFile;
    try {
      file = await objectFile(
        target,
        targetKey,
        spill.file(`target${EXT[transform.targetFormat]}`),
        signal,
      );
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
    // A target read in place is hashed while DuckDB checks it.
    const [digest, checked] = await Promise.allSettled([
      file.digest,
      ctx.transforms.job(() =>
        checkTarget(conn, {
          file: file.file,
          format: transform.targetFormat,
          schema: transform.targetSchema,
          sample: stats.sample,
        }),
      ),
    ]);
    if (digest.status === 'rejected') throw digest.reason;
    const read = digest.value;
    // Other bytes than the transform wrote: that is the problem, whatever
    // DuckDB made of them.
    if (read.size !== stats.output.size || read.sha256 !== stats.output.sha256)
      return { read };
    if (checked.status === 'rejected') throw checked.reason;
    const check = checked.value;
    await file.assertUnchanged();
    return { read, check };
  });

  const expectedRows = stats.sourceRows - stats.filtered - stats.bad;
  let problem: string | null = null;
  if (!found) {
    problem = 'missing in target';
  } else if (found.read.size !== stats.output.size) {
    problem = `size ${found.read.size} differs from the transform's output size ${stats.output.size}`;
  } else if (found.read.sha256 !== stats.output.sha256) {
    problem = `sha256 ${found.read.sha256} differs from the transform's output sha256 ${stats.output.sha256}`;
  } else if (found.check?.schemaProblem) {
    problem = found.check.schemaProblem;
  } else if (found.check && found.check.rows !== expectedRows) {
    problem = `target has ${found.check.rows} rows; expected ${expectedRows} (${stats.sourceRows} read − ${stats.filtered} filtered − ${stats.bad} bad)`;
  } else if (found.check && found.check.unreadable > 0) {
    problem = `${found.check.unreadable} row(s) of the target hold values its schema cannot read`;
  } else if (found.check && found.check.sample.mismatched > 0) {
    problem = `${found.check.sample.mismatched} of ${found.check.sample.compared} sampled records differ; first: ${found.check.sample.firstMismatch}`;
  }
  await ctx.save({
    state: 'done',
    targetSha256: found?.read.sha256 ?? null,
    targetSize: found?.read.size ?? null,
    transformStats: { ...stats, check: found?.check },
    problem,
  });
}

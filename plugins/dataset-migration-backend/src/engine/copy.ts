import { RetryableError } from '@internal/backstage-plugin-dataset-migration-node';
import type { MigrationRow } from '../database/MigrationStore';
import type { EngineContext, StoreCache } from './context';
import {
  backUpOriginal,
  checkSize,
  ItemContext,
  writeHashed,
} from './itemContext';
import { copyInParts, planParts } from './partedCopy';
import { removeTemporaryFiles } from './tempFiles';
import { transformItem } from './transform';
import { transformInParts, transformsInParts } from './transformParts';
import { copyNeedsSha256, sourceChecksums } from './verifyMode';

/**
 * Copies one source object to the target. Before the first write to a key
 * that already exists, its original is copied to the backup area and the DB
 * records `had_original`, so a rollback knows whether to restore or delete.
 * Re-running the item after a crash rewrites the same bytes.
 */
export async function copyItem(ctx: ItemContext): Promise<void> {
  if (ctx.transform) {
    const inParts =
      ctx.parted &&
      transformsInParts(ctx) &&
      (await transformInParts(ctx, ctx.parted));
    if (!inParts) await transformItem(ctx);
    return;
  }
  const { item, source, target, signal } = ctx;
  await backUpOriginal(ctx);

  if (target.copyWithin) {
    const result = await target.copyWithin(source, item.key, item.key, {
      size: item.size,
    });
    if (result) {
      checkSize(item.key, item.size, result.size);
      // The result's checksums describe the copy the target now holds, so
      // they are no source checksums: the snapshot's listed ones stay, for
      // validation to compare the target against.
      await ctx.save({
        state: 'done',
        copyMethod: 'server-side',
        lastError: null,
      });
      return;
    }
  }

  const parts =
    ctx.parted &&
    planParts(item.size, ctx.parted.engine.config.partBytes, target.parts);
  if (ctx.parted && parts) {
    await copyInParts(ctx, ctx.parted, parts);
    return;
  }

  const listed = listedChecksumKept(ctx);
  const written = await writeHashed(
    target,
    item.key,
    await source.read(item.key),
    {
      size: item.size,
      signal,
      // `full` verification compares sha256 only: no other hash is needed.
      extra: ctx.verify === 'full' ? [] : undefined,
      // Checksum verification compares the listed checksum, or the CRC32C
      // hashed here, with the target's own: a sha256 would go unused (a
      // fallback to re-reading hashes the source again).
      sha256: ctx.verify === 'full' || (!listed && copyNeedsSha256(ctx)),
      // The target's server may check the bytes against them as it stores
      // them (GCS), sparing a hash here.
      expected: listed,
      // A target that re-sends after a failure (GCS) reads the source
      // again from there instead of keeping what it sent.
      reread: start => source.read(item.key, { start, end: item.size - 1 }),
    },
  );
  checkSize(item.key, item.size, written.size);
  for (const [algorithm, value] of Object.entries(listed ?? {})) {
    const stored = written[algorithm as 'md5' | 'crc32c'];
    if (stored && stored !== value) {
      throw new RetryableError(
        `Copying '${item.key}': the bytes copied have ${algorithm} ${stored}, but the snapshot listed ${algorithm} ${value} for the source (it changed since, or the bytes were damaged on the way)`,
      );
    }
  }
  await ctx.save({
    state: 'done',
    copyMethod: 'stream',
    sourceSha256: written.sha256,
    // A listed checksum stays the source's: validation compares it with
    // the target's own, end to end.
    sourceMd5: item.sourceMd5 ?? written.md5,
    sourceCrc32c: item.sourceCrc32c ?? written.crc32c,
    lastError: null,
  });
}

/**
 * The checksums the snapshot listed for the source that the target keeps
 * too (so checksum validation can compare them), or undefined for none.
 */
function listedChecksumKept(
  ctx: ItemContext,
): Partial<Record<'md5' | 'crc32c', string>> | undefined {
  const kept = ctx.target.capabilities.checksums;
  const { md5, crc32c } = sourceChecksums(ctx.item);
  const listed = Object.fromEntries(
    Object.entries({ md5, crc32c }).filter(
      ([algorithm, value]) => value && kept.includes(algorithm as 'md5'),
    ),
  );
  return Object.keys(listed).length > 0 ? listed : undefined;
}

/**
 * The end of the copy step, once no copy item is pending or running: any
 * failed item fails the migration; otherwise temp files of interrupted writes
 * are swept and every item moves to stage `validate`. Returns the number of
 * objects copied, or undefined while items are still being copied.
 */
export async function finishCopy(
  ctx: EngineContext,
  cache: StoreCache,
  m: MigrationRow,
): Promise<number | undefined> {
  const { stores } = ctx;
  const counts = await stores.items.stageCounts(m.id, 'copy');
  if (counts.pending + counts.running > 0) return undefined;
  if (counts.failed > 0) {
    const [first] = await stores.items.firstFailures(m.id, 1);
    throw new Error(
      `${counts.failed} object(s) could not be copied; first: '${first?.key}': ${first?.lastError}`,
    );
  }
  await removeTemporaryFiles(ctx, cache, m);
  await ctx.hooks.beforeValidate?.(m.id);
  ctx.assertAlive();
  await stores.items.startStage(m.id, 'validate');
  return counts.done;
}

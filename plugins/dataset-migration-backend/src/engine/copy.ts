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

  const written = await writeHashed(
    target,
    item.key,
    await source.read(item.key),
    // `full` verification compares sha256 only: no other hash is needed.
    { size: item.size, signal, extra: ctx.verify === 'full' ? [] : undefined },
  );
  checkSize(item.key, item.size, written.size);
  await ctx.save({
    state: 'done',
    copyMethod: 'stream',
    sourceSha256: written.sha256,
    sourceMd5: written.md5,
    sourceCrc32c: written.crc32c,
    lastError: null,
  });
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

import {
  backUpOriginal,
  checkSize,
  ItemContext,
  writeHashed,
} from './itemContext';
import { transformItem } from './transformItem';

/**
 * Copies one source object to the target. Before the first write to a key
 * that already exists, its original is copied to the backup area and the DB
 * records `had_original`, so a rollback knows whether to restore or delete.
 * Re-running the item after a crash rewrites the same bytes.
 */
export async function copyItem(ctx: ItemContext): Promise<void> {
  if (ctx.transform) {
    await transformItem(ctx);
    return;
  }
  const { item, source, target, signal } = ctx;
  await backUpOriginal(ctx);

  if (target.copyWithin) {
    const result = await target.copyWithin(source, item.key, item.key);
    if (result) {
      checkSize(item.key, item.size, result.size);
      await ctx.save({
        state: 'done',
        copyMethod: 'server-side',
        sourceSha256: result.checksums.sha256,
        sourceMd5: result.checksums.md5,
        lastError: null,
      });
      return;
    }
  }

  const written = await writeHashed(
    target,
    item.key,
    await source.read(item.key),
    { size: item.size, signal },
  );
  checkSize(item.key, item.size, written.size);
  await ctx.save({
    state: 'done',
    copyMethod: 'stream',
    sourceSha256: written.sha256,
    sourceMd5: written.md5,
    lastError: null,
  });
}

import { HashingStream } from '@internal/backstage-plugin-dataset-migration-node';
import { backUpOriginal, checkSize, ItemContext } from './itemContext';
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

  const body = await source.read(item.key);
  const hashing = new HashingStream(['sha256', 'md5']);
  body.on('error', e => hashing.destroy(e));
  const result = await target
    .write(item.key, body.pipe(hashing), { size: item.size, signal })
    .catch(e => {
      // A failed write must not leave the source's stream (a file handle,
      // a socket) open.
      body.destroy();
      throw e;
    });
  const digests = hashing.digests();
  checkSize(item.key, item.size, hashing.byteCount);
  if (result.checksums.sha256 && result.checksums.sha256 !== digests.sha256) {
    throw Object.assign(
      new Error(
        `Target reported sha256 ${result.checksums.sha256} for '${item.key}', expected ${digests.sha256}`,
      ),
      { retryable: true },
    );
  }
  await ctx.save({
    state: 'done',
    copyMethod: 'stream',
    sourceSha256: digests.sha256,
    sourceMd5: digests.md5,
    lastError: null,
  });
}

import { NotFoundError } from '@backstage/errors';
import type {
  ChecksumAlgorithm,
  Checksums,
} from '@internal/backstage-plugin-dataset-migration-common';
import { sha256Of } from './checksums';
import { ItemContext } from './itemContext';
import { partsDigestOf } from './partedCopy';
import { validateTransformedItem } from './transform';
import { removeStagedParts } from './transformParts';
import { commonChecksum, sourceChecksums } from './verifyMode';

/**
 * Verifies one copied object in the migration's verify mode (verifyMode.ts):
 * `checksum` (and the default) compares the target's stored checksum with
 * the source's, without reading the body, and falls back to `full` when they
 * share none; `full` re-reads the target and compares sha256; `none`
 * compares sizes only. The item records which of the three it used.
 */
export async function validateItem(ctx: ItemContext): Promise<void> {
  if (ctx.transform) {
    await validateTransformedItem(ctx);
    await removeStagedParts(ctx);
    return;
  }
  if (ctx.verify === 'none') {
    await verifyBySize(ctx);
  } else if (ctx.verify === 'full' || !(await verifyByChecksum(ctx))) {
    await verifyByRereading(ctx);
  }
}

function sizeProblem(actual: number, expected: number) {
  return actual === expected
    ? null
    : `size ${actual} differs from source size ${expected}`;
}

async function verifyBySize(ctx: ItemContext): Promise<void> {
  const { item, target } = ctx;
  const info = ctx.listed ?? (await target.stat(item.key));
  await ctx.save({
    state: 'done',
    verifyMethod: 'none',
    targetSize: info?.size ?? null,
    problem: info ? sizeProblem(info.size, item.size) : 'missing in target',
  });
}

/** Returns false, having saved nothing, when no checksum is in common. */
async function verifyByChecksum(ctx: ItemContext): Promise<boolean> {
  const { item, target } = ctx;
  // A store that keeps no checksum (local files) needs no stat to know.
  if (target.capabilities.checksums.length === 0) return false;
  // The batch's listing stands in for the stat when it lists a checksum in
  // common (listings carry fewer than a stat: S3 lists no CRC32C).
  const info =
    ctx.listed && commonChecksum(sourceChecksums(item), ctx.listed.checksums)
      ? ctx.listed
      : await target.stat(item.key);
  if (!info) {
    await ctx.save({
      state: 'done',
      verifyMethod: 'checksum',
      targetSize: null,
      targetChecksum: null,
      problem: 'missing in target',
    });
    return true;
  }
  const common =
    commonChecksum(sourceChecksums(item), info.checksums) ??
    (await commonFromSourceStat(ctx, info.checksums));
  if (!common) return false;
  const { algorithm } = common;
  let problem = sizeProblem(info.size, item.size);
  if (!problem && common.target !== common.source) {
    problem = `${algorithm} ${common.target} differs from source ${algorithm} ${common.source}`;
  }
  await ctx.save({
    state: 'done',
    verifyMethod: 'checksum',
    targetSize: info.size,
    targetChecksum: `${algorithm}:${common.target}`,
    problem,
  });
  return true;
}

/**
 * When the target keeps a checksum the item does not know for its source
 * but the source store keeps that kind too, the source is asked (one stat):
 * its listing may show fewer checksums than a stat (S3 lists an ETag, not
 * the CRC32C a server-side multipart copy is compared by), and one request
 * spares re-reading both objects. A source whose size or version marker
 * differs from the snapshot's is not asked: re-reading decides.
 */
async function commonFromSourceStat(
  ctx: ItemContext,
  target: Checksums | undefined,
) {
  const { item, source } = ctx;
  const known = sourceChecksums(item);
  const kept = source.capabilities.checksums;
  const askable = (Object.keys(target ?? {}) as ChecksumAlgorithm[]).some(
    algorithm =>
      target?.[algorithm] && !known[algorithm] && kept.includes(algorithm),
  );
  if (!askable) return undefined;
  const now = await source.stat(item.key);
  if (
    !now ||
    now.size !== item.size ||
    (item.sourceEtag && now.etag && now.etag !== item.sourceEtag)
  ) {
    return undefined;
  }
  const stillKnown = Object.fromEntries(
    Object.entries(known).filter(([, value]) => value),
  );
  return commonChecksum({ ...now.checksums, ...stillKnown }, target);
}

/**
 * Re-reads the target object and compares its sha256 with the source's, as
 * hashed during the copy (or re-read now when a server-side copy gave none).
 */
async function verifyByRereading(ctx: ItemContext): Promise<void> {
  const { item, source, target, signal } = ctx;
  // A copy in parts is compared part by part (partsDigest).
  const parts =
    item.copyMethod === 'parts' && ctx.parted
      ? await ctx.parted.engine.stores.parts.list(item.id)
      : undefined;
  let sourceSha256 = item.sourceSha256;
  if (!sourceSha256) {
    // A server-side copy hashed nothing, and a copy to a target that keeps
    // CRC32Cs no sha256 (copyNeedsSha256), whose target then showed none:
    // the source is read again, cut into the parts a copy in parts had.
    const body = await source.read(item.key);
    sourceSha256 = parts
      ? (await partsDigestOf(body, parts, signal)).sha256
      : (await sha256Of(body, signal)).sha256;
  }
  let actual: { sha256: string; size: number } | undefined;
  try {
    const body = await target.read(item.key);
    actual = parts
      ? await partsDigestOf(body, parts, signal)
      : await sha256Of(body, signal);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  let problem: string | null = null;
  if (!actual) {
    problem = 'missing in target';
  } else if (actual.size !== item.size) {
    problem = sizeProblem(actual.size, item.size);
  } else if (actual.sha256 !== sourceSha256) {
    const what = parts ? `sha256 of its ${parts.length} parts` : 'sha256';
    problem = `${what} ${actual.sha256} differs from source ${what} ${sourceSha256}`;
  }
  await ctx.save({
    state: 'done',
    verifyMethod: 'full',
    sourceSha256,
    targetSha256: actual?.sha256 ?? null,
    targetSize: actual?.size ?? null,
    problem,
  });
}

import { ConflictError } from '@backstage/errors';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  crc32cCombine,
  HashingStream,
  isRetryableError,
  type PartedWrites,
  type PartRange,
} from '@internal/backstage-plugin-dataset-migration-node';
import type { ClaimedPart, ObjectPart } from '../database/PartStore';
import { backoffDelay } from './backoff';
import type { EngineContext, MigrationStores } from './context';
import { copyNeedsSha256 } from './verifyMode';
import {
  checkSize,
  errorMessage,
  ItemContext,
  ItemReleasedError,
  LeaseLostError,
} from './itemContext';

/** What a copy in parts needs beyond its item (set by the worker lane). */
export interface PartedCopyContext {
  engine: EngineContext;
  /** Parts were created: this replica's idle lanes may take some. */
  partsCreated(): void;
}

/** How often the item's lane looks again while other lanes write its parts. */
const PART_WAIT_MS = 200;

/**
 * The parts an object of `size` bytes is copied in, or undefined when it is
 * copied in one stream: the target has no parted writes, parts are off
 * (`partBytes` 0), or the object is no larger than two parts or beyond
 * what the target takes in parts.
 */
export function planParts(
  size: number,
  partBytes: number,
  writes: PartedWrites | undefined,
): PartRange[] | undefined {
  if (!writes || partBytes <= 0 || size > writes.maxSize) return undefined;
  const multiple = Math.max(1, writes.partSizeMultiple);
  const unit = Math.ceil(partBytes / multiple) * multiple;
  if (size <= 2 * unit) return undefined;
  const parts: PartRange[] = [];
  for (let offset = 0; offset < size; offset += unit) {
    parts.push({
      number: parts.length + 1,
      offset,
      size: Math.min(unit, size - offset),
    });
  }
  return parts;
}

/**
 * A copy in parts has no sha256 of the whole object (no process reads it
 * whole): its digest is the sha256 of the parts' sha256s (hex, in number
 * order), which validation computes again from the target.
 */
export function partsDigest(sha256s: string[]): string {
  const hash = createHash('sha256');
  for (const s of sha256s) hash.update(s);
  return hash.digest('hex');
}

/**
 * Reads `body` once and returns {@link partsDigest} of it cut at the parts'
 * boundaries, and its size (bytes beyond the last part are counted, not
 * hashed: the size then differs).
 */
export async function partsDigestOf(
  body: Readable,
  parts: PartRange[],
  signal?: AbortSignal,
): Promise<{ sha256: string; size: number }> {
  const digests: string[] = [];
  let index = 0;
  let left = parts[0]?.size ?? 0;
  let hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      size += chunk.length;
      let at = 0;
      while (at < chunk.length && index < parts.length) {
        const take = Math.min(left, chunk.length - at);
        hash.update(chunk.subarray(at, at + take));
        at += take;
        left -= take;
        if (left === 0) {
          digests.push(hash.digest('hex'));
          index += 1;
          hash = createHash('sha256');
          left = parts[index]?.size ?? 0;
        }
      }
    }
  } finally {
    body.destroy();
  }
  return { sha256: partsDigest(digests), size };
}

/**
 * The CRC32C of the whole object, folded from its parts' (crc32cCombine):
 * what the `checksum` verify mode compares with a target's full-object
 * CRC32C (S3), without reading the object again.
 */
export function crc32cOfParts(
  parts: Array<{ size: number; crc32c?: string }>,
): string | undefined {
  let crc: number | undefined;
  for (const part of parts) {
    if (!part.crc32c) return undefined;
    const next = parseInt(part.crc32c, 16);
    crc = crc === undefined ? next : crc32cCombine(crc, next, part.size);
  }
  return crc?.toString(16).padStart(8, '0');
}

/** Whether a migration still copies (a cancel stops waits and parts). */
async function migrationCopies(engine: EngineContext, migrationId: string) {
  const m = await engine.stores.migrations.get(migrationId);
  return m?.state === 'running' && m.phase === 'copy';
}

/**
 * The source must be the object the snapshot listed: its parts were read
 * at different times, maybe by different replicas, so a change in between
 * would assemble pieces of two versions.
 */
export async function checkSourceUnchanged(ctx: ItemContext) {
  const { item, source } = ctx;
  const now = await source.stat(item.key);
  if (!now) {
    throw new ConflictError(
      `Source object '${item.key}' was deleted during the migration`,
    );
  }
  checkSize(item.key, item.size, now.size);
  if (item.sourceEtag && now.etag && now.etag !== item.sourceEtag) {
    throw new ConflictError(
      `Source object '${item.key}' changed during the migration (its version marker differs from the snapshot's)`,
    );
  }
}

/**
 * Copies a large object in parts. The first time, the target's parted
 * write begins and the parts are recorded with its upload id; then this
 * lane writes the object's parts it can claim, while idle lanes of every
 * replica claim others (WorkerPool), and waits for theirs. Once every part
 * is written, the source is checked unchanged and the upload completed.
 *
 * After a crash the item is claimed again: its upload id is kept, written
 * parts are not redone, failed ones are retried.
 */
export async function copyInParts(
  ctx: ItemContext,
  parted: PartedCopyContext,
  ranges: PartRange[],
): Promise<void> {
  const { item, target, signal } = ctx;
  const { engine } = parted;
  const { stores, workerId } = engine;
  const writes = target.parts!;
  let uploadId = item.uploadId;
  if (uploadId) {
    await stores.parts.requeueFailed(item.id);
  } else {
    uploadId = await writes.begin(item.key, { size: item.size, signal });
    engine.assertAlive();
    if (!(await stores.parts.create(item, workerId, uploadId, ranges))) {
      await writes.abort(item.key, uploadId).catch(() => undefined);
      throw new LeaseLostError(`Lost the lease on '${item.key}'`);
    }
    item.uploadId = uploadId;
    parted.partsCreated();
  }
  const parts = await awaitParts(ctx, parted, part =>
    copyPart(engine, ctx, part),
  );
  await checkSourceUnchanged(ctx);
  const crc = crc32cOfParts(parts);
  if (item.sourceCrc32c && crc && crc !== item.sourceCrc32c) {
    throw new ConflictError(
      `Source object '${item.key}' read in parts has CRC32C ${crc}, but its listing said ${item.sourceCrc32c}`,
    );
  }
  let size: number;
  try {
    ({ size } = await writes.complete(
      item.key,
      uploadId,
      parts.map(p => ({ number: p.number, token: p.token ?? '' })),
      { signal },
    ));
  } catch (e) {
    if ((e as Error)?.name !== 'NotFoundError') throw e;
    // Completed by an attempt that crashed before recording it; if not,
    // validation finds the target's bytes differ from the parts written.
    const info = await target.stat(item.key);
    if (!info) throw e;
    size = info.size;
  }
  checkSize(item.key, item.size, size);
  await ctx.save({
    state: 'done',
    copyMethod: 'parts',
    // Without every part's sha256 (none was needed) there is no digest;
    // a `full` re-read after all computes it from the source (validate.ts).
    sourceSha256: parts.every(p => p.sha256)
      ? partsDigest(parts.map(p => p.sha256!))
      : null,
    sourceCrc32c: crc,
    lastError: null,
  });
}

/**
 * The holding lane's part of a parted item: writes the item's parts it can
 * claim (with `write`), while idle lanes of every replica claim others
 * (WorkerPool), and waits for theirs. Returns the parts once all are done;
 * throws when one failed for good or the migration stopped copying.
 */
export async function awaitParts(
  ctx: ItemContext,
  parted: PartedCopyContext,
  write: (part: ClaimedPart) => Promise<void>,
): Promise<ObjectPart[]> {
  const { item } = ctx;
  const { engine } = parted;
  const { stores, workerId, config } = engine;
  for (;;) {
    engine.assertAlive();
    const [part] = await stores.parts.claim(
      workerId,
      config.leaseMs,
      1,
      item.id,
    );
    if (part) {
      await write(part);
      continue;
    }
    const counts = await stores.parts.counts(item.id);
    if (counts.failed > 0) {
      const failed = (await stores.parts.list(item.id)).find(
        p => p.state === 'failed',
      );
      // A source changed under the parts fails them in many ways (a reader
      // that cannot parse what it now reads): that change is the cause,
      // unless the part already said so.
      if (!/ during the migration/.test(failed?.lastError ?? '')) {
        await checkSourceUnchanged(ctx);
      }
      throw new Error(
        `Part ${failed?.number} of ${
          counts.pending + counts.running + counts.done + counts.failed
        } of '${item.key}' failed: ${failed?.lastError}`,
      );
    }
    if (counts.pending + counts.running === 0) break;
    if (!(await migrationCopies(engine, item.migrationId))) {
      throw new ItemReleasedError(
        `Migration ${item.migrationId} stopped copying`,
      );
    }
    await sleep(PART_WAIT_MS, undefined, { signal: engine.signal });
  }
  return stores.parts.list(item.id);
}

/** What a written part records (PartStore.finish). */
export interface FinishedPart {
  token: string;
  /** Unset when no verification needs it (copyNeedsSha256). */
  sha256?: string;
  crc32c?: string;
  result?: string;
}

/**
 * Does one claimed part with `work` under a heartbeat of its lease; records
 * it done, or its failure (retried with backoff while retryable and attempts
 * remain, else failed, which fails the object). Throws only when this
 * replica abandons its work.
 */
export async function leasedPart(
  engine: EngineContext,
  part: ClaimedPart,
  work: (signal: AbortSignal) => Promise<FinishedPart>,
): Promise<void> {
  const { workerId, config } = engine;
  // Stopped when this replica abandons its work, or when the part's
  // migration stops copying (a cancel, a failure): the part is given back.
  const stop = new AbortController();
  const abandon = () => stop.abort(engine.signal.reason);
  engine.signal.addEventListener('abort', abandon, { once: true });
  const heartbeat = setInterval(() => {
    if (engine.signal.aborted) return;
    engine.stores.parts
      .heartbeat([part.id], workerId, config.leaseMs)
      .catch(e =>
        engine.logger.warn(
          `Could not extend the lease on part ${part.number} of '${
            part.key
          }': ${errorMessage(e)}`,
        ),
      );
    migrationCopies(engine, part.migrationId)
      .then(copying => {
        if (!copying) {
          stop.abort(
            new ItemReleasedError(
              `Migration ${part.migrationId} stopped copying`,
            ),
          );
        }
      })
      .catch(() => undefined);
  }, config.leaseMs / 3);
  try {
    const finished = await work(stop.signal);
    stop.signal.throwIfAborted();
    engine.assertAlive();
    await engine.stores.parts.finish(part.id, workerId, finished);
  } catch (e) {
    if (engine.signal.aborted) throw e;
    if (stop.signal.aborted) {
      // Not a failure of the part: pending again, its attempts unchanged,
      // for a retry of the migration to redo.
      await engine.stores.parts.fail(part.id, workerId, {
        attempts: part.attempts,
        lastError: errorMessage(stop.signal.reason),
        retryInMs: 0,
      });
      return;
    }
    const attempts = part.attempts + 1;
    const retry = isRetryableError(e) && attempts < config.retry.maxAttempts;
    const lastError = errorMessage(e);
    engine.logger.warn(
      `Part ${part.number} of '${part.key}' (migration ${
        part.migrationId
      }) failed${retry ? ', will retry' : ''}: ${lastError}`,
    );
    await engine.stores.parts.fail(part.id, workerId, {
      attempts,
      lastError,
      retryInMs: retry ? backoffDelay(attempts, config.retry) : undefined,
    });
  } finally {
    clearInterval(heartbeat);
    engine.signal.removeEventListener('abort', abandon);
  }
}

/** Writes one claimed part: source byte range → target part, hashed. */
export async function copyPart(
  engine: EngineContext,
  stores: Pick<MigrationStores, 'source' | 'target' | 'verify'>,
  part: ClaimedPart,
): Promise<void> {
  await leasedPart(engine, part, async signal => {
    const body = await stores.source.read(part.key, {
      start: part.offset,
      end: part.offset + part.size - 1,
    });
    const hashing = new HashingStream(
      copyNeedsSha256(stores) ? ['sha256', 'crc32c'] : ['crc32c'],
    );
    body.on('error', e => hashing.destroy(e));
    const written = await stores.target
      .parts!.writePart(part.key, part.uploadId, part, body.pipe(hashing), {
        signal,
      })
      .catch(e => {
        body.destroy();
        throw e;
      });
    if (written.size !== part.size) {
      throw new Error(
        `Part ${part.number} of '${part.key}' stored ${written.size} bytes, expected ${part.size}`,
      );
    }
    const digests = hashing.digests();
    return {
      token: written.token,
      sha256: digests.sha256,
      crc32c: digests.crc32c!,
    };
  });
}

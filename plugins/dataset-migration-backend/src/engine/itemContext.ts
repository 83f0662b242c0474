import { ConflictError } from '@backstage/errors';
import type { Readable } from 'node:stream';
import {
  HashingStream,
  RetryableError,
} from '@internal/backstage-plugin-dataset-migration-node';
import type {
  PlannedTransform,
  VerifyMode,
} from '@internal/backstage-plugin-dataset-migration-common';
import type {
  ObjectStore,
  WriteHints,
} from '@internal/backstage-plugin-dataset-migration-node';
import type { ItemPatch, WorkItem } from '../database/WorkItemStore';
import type { TransformRuntime } from '../transform/TransformRuntime';
import type { ListedTarget } from './listedTargets';
import type { PartedCopyContext } from './partedCopy';

export type { ItemPatch };

/** What a stage needs to process one leased work item. */
export interface ItemContext {
  item: WorkItem;
  /**
   * Where the item lands in the target: its source key, or for an object a
   * transform rewrites, that key with the target format's extension.
   */
  targetKey: string;
  /** Set when the item is a data object a schema-transform rewrites. */
  transform?: PlannedTransform;
  transforms: TransformRuntime;
  source: ObjectStore;
  target: ObjectStore;
  /** Where originals of overwritten target objects are kept. */
  backups: ObjectStore;
  /** How validation verifies the item; undefined: checksum where possible. */
  verify?: VerifyMode;
  /** Set by worker lanes: what copying a large object in parts needs. */
  parted?: PartedCopyContext;
  /**
   * The target object as one listing of the batch's target found it, or
   * `null` when the listing went past its key (listedTargets.ts): the
   * backup and the validation then need no `stat` of their own.
   */
  listed?: ListedTarget;
  signal: AbortSignal;
  /** Persists progress; throws {@link LeaseLostError} if another worker took over. */
  save(patch: ItemPatch): Promise<void>;
}

/** The item's lease expired and another worker owns it now: stop quietly. */
export class LeaseLostError extends Error {
  name = 'LeaseLostError';
}

/**
 * The item's migration stopped taking items (cancelled, failed) while the
 * item was being worked on: it is given back, pending, without a failure.
 */
export class ItemReleasedError extends Error {
  name = 'ItemReleasedError';
}

export function errorMessage(e: unknown) {
  if (e instanceof Error) {
    const code = (e as { code?: string }).code;
    return code && !e.message.includes(code)
      ? `${code}: ${e.message}`
      : e.message;
  }
  return String(e);
}

/** Copies one object between stores, server-side when the target can. */
export async function transfer(
  from: ObjectStore,
  fromKey: string,
  to: ObjectStore,
  toKey: string,
  signal: AbortSignal,
): Promise<'server-side' | 'stream'> {
  if (to.copyWithin) {
    const result = await to.copyWithin(from, fromKey, toKey);
    if (result) return 'server-side';
  }
  const body = await from.read(fromKey);
  const info = await from.stat(fromKey);
  await to.write(toKey, body, { size: info?.size, signal });
  return 'stream';
}

/**
 * Before the first write to a target key that already exists, its original
 * goes to the backup area and the DB records `had_original`.
 */
export async function backUpOriginal(ctx: ItemContext): Promise<void> {
  const { item, target, backups, targetKey, signal } = ctx;
  if (item.hadOriginal !== null) return;
  // The batch's listing may have told already (listedTargets.ts).
  const existing =
    ctx.listed !== undefined ? ctx.listed : await target.stat(targetKey);
  if (existing) {
    await transfer(target, targetKey, backups, targetKey, signal);
  }
  await ctx.save({ hadOriginal: Boolean(existing) });
}

export function checkSize(key: string, expected: number, actual: number) {
  if (expected !== actual) {
    throw new ConflictError(
      `Source object '${key}' changed during the migration: the snapshot had ${expected} bytes, the copy read ${actual}`,
    );
  }
}

interface WriteHashedOptions {
  size: number;
  signal: AbortSignal;
  /** Instead of the target's own checksums: [] for sha256 only. */
  extra?: Array<'md5' | 'crc32c'>;
  /** False: no sha256 (nothing will compare it; see `copyItem`). */
  sha256?: boolean;
  /** The checksums the source was listed with (`WriteHints.expected`). */
  expected?: WriteHints['expected'];
  /** Reads the source again from an offset: passed on when nothing is hashed here. */
  reread?: WriteHints['reread'];
}

interface Hashed {
  sha256?: string;
  md5?: string;
  crc32c?: string;
  size: number;
}

/**
 * Streams `body` into `key`, hashing it on the way; a target that reports a
 * different sha256 than the bytes sent is a retryable error. On a failed
 * write the body is destroyed, so no file handle or socket stays open.
 *
 * sha256 unless `sha256: false` (the `full` verify mode and the report
 * compare it); md5 and crc32c only where the target keeps them
 * (`capabilities.checksums`), for the `checksum` verify mode to compare
 * with what the target reports, or as `extra` says. Every hash runs on the main thread: md5 and the JS
 * crc32c cost 3× sha256 (SHA-NI) per byte, which bounded a large object's
 * copy to a local target at ~240 MB/s when all three were always computed.
 * With nothing to hash here the body goes to the target as it is (no stream
 * in between), the size is the one the target stored, and the target may
 * re-read the source (`reread`) rather than keep what it sent.
 */
export async function writeHashed(
  target: ObjectStore,
  key: string,
  body: Readable,
  options: WriteHashedOptions & { sha256?: true },
): Promise<Hashed & { sha256: string }>;
export async function writeHashed(
  target: ObjectStore,
  key: string,
  body: Readable,
  options: WriteHashedOptions,
): Promise<Hashed>;
export async function writeHashed(
  target: ObjectStore,
  key: string,
  body: Readable,
  options: WriteHashedOptions,
): Promise<Hashed> {
  const { checksums: kept, writeChecksums = [] } = target.capabilities;
  const wanted =
    options.extra ?? (['md5', 'crc32c'] as const).filter(a => kept.includes(a));
  // What the target's write hashes itself is taken from its result.
  const fromWrite = wanted.filter(a => writeChecksums.includes(a));
  const algorithms = [
    ...(options.sha256 === false ? [] : (['sha256'] as const)),
    ...wanted.filter(a => !fromWrite.includes(a)),
  ];
  const hashing =
    algorithms.length > 0 ? new HashingStream(algorithms) : undefined;
  if (hashing) body.on('error', e => hashing.destroy(e));
  const result = await target
    .write(key, hashing ? body.pipe(hashing) : body, {
      size: options.size,
      signal: options.signal,
      expected: options.expected,
      // Bytes re-read would bypass a hash taken here.
      reread: hashing ? undefined : options.reread,
    })
    .catch(e => {
      body.destroy();
      throw e;
    });
  const digests: Hashed = hashing
    ? { ...hashing.digests(), size: hashing.byteCount }
    : { size: result.size };
  if (
    digests.sha256 &&
    result.checksums.sha256 &&
    result.checksums.sha256 !== digests.sha256
  ) {
    throw new RetryableError(
      `Target reported sha256 ${result.checksums.sha256} for '${key}', expected ${digests.sha256}`,
    );
  }
  for (const a of fromWrite) digests[a] = result.checksums[a];
  return digests;
}

import type { VerifyMode } from '@internal/backstage-plugin-dataset-migration-common';
import type { TransformSample } from '../transform/verify';
import type { LeaseTakeover } from './clock';
import {
  DbBigInt,
  DbBoolean,
  DbJson,
  num,
  optBool,
  optNum,
  optStr,
} from './rowValues';

export type ItemStage = 'copy' | 'validate' | 'rollback';
export type ItemState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface WorkItem {
  id: number;
  migrationId: string;
  key: string;
  size: number;
  sourceEtag?: string;
  stage: ItemStage;
  state: ItemState;
  attempts: number;
  hadOriginal: boolean | null;
  copyMethod?: string;
  sourceSha256?: string;
  sourceMd5?: string;
  sourceCrc32c?: string;
  targetSha256?: string;
  targetSize?: number;
  /** How validation verified the object. */
  verifyMethod?: VerifyMode;
  /** The target checksum a `checksum` verification compared, `algorithm:hex`. */
  targetChecksum?: string;
  problem?: string;
  lastError?: string;
  /** Set by the copy stage of a transformed object. */
  transformStats?: ItemTransformStats;
  /**
   * A large object copied in parts (partedCopy.ts): the target's upload id,
   * set when its parts were created, kept after it completed.
   */
  uploadId?: string;
  /**
   * Set by a claim that took the item over from a replica whose lease had
   * expired: that replica's id.
   */
  reclaimedFrom?: string;
  /** With {@link reclaimedFrom}: how long that lease had sat expired. */
  takeover?: LeaseTakeover;
}

/** What a transformed object's copy and validation found (stored as JSON). */
export interface ItemTransformStats {
  sourceRows: number;
  filtered: number;
  bad: number;
  quarantined: number;
  written: number;
  /** First bad rows, by 1-based row number in the source object. */
  badRows: Array<{ row: number; values: Record<string, unknown> }>;
  /** The file the transform wrote, as written to the target. */
  output: { key: string; sha256: string; size: number };
  sample: TransformSample;
  /** How many parts it was transformed in, when more than one. */
  parts?: number;
  /** Filled by the validate stage. */
  check?: {
    rows: number;
    unreadable: number;
    schemaProblem?: string;
    sample: { compared: number; mismatched: number; firstMismatch?: string };
  };
}

/**
 * A `dm_work_items` row as the database returns it (columns of the knex
 * migrations in `migrations/`).
 */
export interface DbWorkItemRow {
  id: DbBigInt;
  migration_id: string;
  key: string;
  size: DbBigInt;
  source_etag: string | null;
  stage: ItemStage;
  state: ItemState;
  attempts: number;
  not_before: DbBigInt | null;
  lease_owner: string | null;
  lease_expires_at: DbBigInt | null;
  started_at: DbBigInt | null;
  finished_at: DbBigInt | null;
  copied_at: DbBigInt | null;
  last_error: string | null;
  /** null: target untouched; true: original backed up; false: there was none. */
  had_original: DbBoolean | null;
  copy_method: string | null;
  source_sha256: string | null;
  source_md5: string | null;
  source_crc32c: string | null;
  target_sha256: string | null;
  target_size: DbBigInt | null;
  verify_method: VerifyMode | null;
  target_checksum: string | null;
  problem: string | null;
  transform_stats: DbJson | null;
  upload_id: string | null;
}

export function fromRow(row: DbWorkItemRow): WorkItem {
  return {
    id: num(row.id),
    migrationId: row.migration_id,
    key: row.key,
    size: num(row.size),
    sourceEtag: optStr(row.source_etag),
    stage: row.stage,
    state: row.state,
    attempts: num(row.attempts),
    hadOriginal: optBool(row.had_original),
    copyMethod: optStr(row.copy_method),
    sourceSha256: optStr(row.source_sha256),
    sourceMd5: optStr(row.source_md5),
    sourceCrc32c: optStr(row.source_crc32c),
    targetSha256: optStr(row.target_sha256),
    targetSize: optNum(row.target_size),
    verifyMethod: optStr(row.verify_method),
    targetChecksum: optStr(row.target_checksum),
    problem: optStr(row.problem),
    lastError: optStr(row.last_error),
    transformStats: row.transform_stats
      ? JSON.parse(row.transform_stats)
      : undefined,
    uploadId: optStr(row.upload_id),
  };
}

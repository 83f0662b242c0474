import type { TransformSample } from '../transform/verify';
import { num, optBool, optNum } from './migrations';

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
  targetSha256?: string;
  targetSize?: number;
  problem?: string;
  lastError?: string;
  /** Set by the copy stage of a transformed object. */
  transformStats?: ItemTransformStats;
  /**
   * Set by a claim that took the item over from a replica whose lease had
   * expired: that replica's id.
   */
  reclaimedFrom?: string;
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
  /** Filled by the validate stage. */
  check?: {
    rows: number;
    unreadable: number;
    schemaProblem?: string;
    sample: { compared: number; mismatched: number; firstMismatch?: string };
  };
}

export function fromRow(row: any): WorkItem {
  return {
    id: num(row.id),
    migrationId: row.migration_id,
    key: row.key,
    size: num(row.size),
    sourceEtag: row.source_etag ?? undefined,
    stage: row.stage,
    state: row.state,
    attempts: num(row.attempts),
    hadOriginal: optBool(row.had_original),
    copyMethod: row.copy_method ?? undefined,
    sourceSha256: row.source_sha256 ?? undefined,
    sourceMd5: row.source_md5 ?? undefined,
    targetSha256: row.target_sha256 ?? undefined,
    targetSize: optNum(row.target_size),
    problem: row.problem ?? undefined,
    lastError: row.last_error ?? undefined,
    transformStats: row.transform_stats
      ? JSON.parse(row.transform_stats)
      : undefined,
  };
}

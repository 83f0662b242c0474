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
  };
}

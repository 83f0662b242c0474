import { Knex } from 'knex';
import type { VerifyMode } from '@internal/backstage-plugin-dataset-migration-common';
import { dbNowPlus } from './clock';
import { DbWrite } from './rowValues';
import type {
  DbWorkItemRow,
  ItemState,
  ItemTransformStats,
} from './workItemRows';

/** What a stage records on a leased item (WorkItemStore.update). */
export interface ItemPatch {
  state?: ItemState;
  hadOriginal?: boolean;
  copyMethod?: string;
  sourceSha256?: string | null;
  sourceMd5?: string;
  sourceCrc32c?: string;
  targetSha256?: string | null;
  targetSize?: number | null;
  verifyMethod?: VerifyMode;
  targetChecksum?: string | null;
  problem?: string | null;
  lastError?: string | null;
  attempts?: number;
  /**
   * A retry's backoff: the item is claimable again this many milliseconds
   * from now on the database's clock (clock.ts), since claims compare
   * `not_before` with it; a replica's skewed clock would otherwise hold a
   * retried item back fleet-wide, or drop its backoff. Null clears it.
   */
  dueInMs?: number | null;
  transformStats?: ItemTransformStats | null;
}

/** The columns of `dm_work_items` a patch writes. */
export type RowPatch = DbWrite<DbWorkItemRow>;

/**
 * The columns a patch sets; `now` stamps finished and copied times, `knex`
 * gives the database's clock for `not_before`.
 */
export function patchToRow(
  patch: ItemPatch,
  now: number,
  knex: Knex,
): RowPatch {
  const row: RowPatch = {};
  if (patch.state !== undefined) {
    row.state = patch.state;
    if (patch.state !== 'running') {
      row.lease_owner = null;
      row.lease_expires_at = null;
      row.finished_at = now;
    }
  }
  if (patch.hadOriginal !== undefined) row.had_original = patch.hadOriginal;
  if (patch.copyMethod !== undefined) {
    row.copy_method = patch.copyMethod;
    row.copied_at = now;
  }
  if (patch.sourceSha256 !== undefined) row.source_sha256 = patch.sourceSha256;
  if (patch.sourceMd5 !== undefined) row.source_md5 = patch.sourceMd5;
  if (patch.sourceCrc32c !== undefined) row.source_crc32c = patch.sourceCrc32c;
  if (patch.verifyMethod !== undefined) row.verify_method = patch.verifyMethod;
  if (patch.targetChecksum !== undefined) {
    row.target_checksum = patch.targetChecksum;
  }
  if (patch.targetSha256 !== undefined) row.target_sha256 = patch.targetSha256;
  if (patch.targetSize !== undefined) row.target_size = patch.targetSize;
  if (patch.problem !== undefined) row.problem = patch.problem;
  if (patch.lastError !== undefined) row.last_error = patch.lastError;
  if (patch.attempts !== undefined) row.attempts = patch.attempts;
  if (patch.dueInMs !== undefined) {
    row.not_before =
      patch.dueInMs === null ? null : dbNowPlus(knex, patch.dueInMs);
  }
  if (patch.transformStats !== undefined) {
    row.transform_stats = patch.transformStats
      ? JSON.stringify(patch.transformStats)
      : null;
  }
  return row;
}

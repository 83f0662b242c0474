import { Knex } from 'knex';
import type { PartRange } from '@internal/backstage-plugin-dataset-migration-node';
import { dbNow, dbNowPlus } from './clock';
import { whereActive } from './claims';
import {
  DbBigInt,
  DbClient,
  DbCount,
  isPostgres,
  num,
  optStr,
} from './rowValues';
import type { WorkItem } from './workItemRows';

export type PartState = 'pending' | 'running' | 'done' | 'failed';

/** One part of a large object copied in parts (`dm_parts`). */
export interface ObjectPart extends PartRange {
  id: number;
  migrationId: string;
  itemId: number;
  state: PartState;
  attempts: number;
  /** The backend's receipt, once written. */
  token?: string;
  /** sha256 of the bytes written, once written. */
  sha256?: string;
  /** CRC32C (hex) of the bytes written, once written. */
  crc32c?: string;
  lastError?: string;
  /**
   * A transformed part (engine/transformParts.ts): bytes of the source's
   * start (its CSV header) read before the part's range.
   */
  prefix: number;
  /** A transformed part's outcome (JSON), once written. */
  result?: string;
}

/** A part to create: its range, and the prefix a transformed part reads first. */
export type NewPart = PartRange & { prefix?: number; sha256?: string };

/** A part leased to a worker, with what it needs to write it. */
export interface ClaimedPart extends ObjectPart {
  key: string;
  uploadId: string;
  /** The replica whose lease on the part had expired, if any. */
  reclaimedFrom?: string;
}

interface DbPartRow {
  id: DbBigInt;
  migration_id: string;
  item_id: DbBigInt;
  part_number: number;
  offset: DbBigInt;
  size: DbBigInt;
  state: PartState;
  attempts: number;
  not_before: DbBigInt | null;
  lease_owner: string | null;
  lease_expires_at: DbBigInt | null;
  token: string | null;
  sha256: string | null;
  crc32c: string | null;
  last_error: string | null;
  prefix_size: DbBigInt;
  result: string | null;
}

function fromRow(row: DbPartRow): ObjectPart {
  return {
    id: num(row.id),
    migrationId: row.migration_id,
    itemId: num(row.item_id),
    number: num(row.part_number),
    offset: num(row.offset),
    size: num(row.size),
    state: row.state,
    attempts: num(row.attempts),
    token: optStr(row.token),
    sha256: optStr(row.sha256),
    crc32c: optStr(row.crc32c),
    lastError: optStr(row.last_error),
    prefix: num(row.prefix_size ?? 0),
    result: optStr(row.result),
  };
}

/** Part counts of one object by state. */
export type PartCounts = Record<PartState, number>;

/** Rows one INSERT writes at most (SQLite allows 999 bound variables). */
const INSERT_ROWS = 50;

/**
 * Parts that can be claimed now: pending and due, or running on a lease
 * that expired.
 */
function whereClaimablePart(q: Knex.QueryBuilder, now: Knex.Raw | number) {
  return q.where(w =>
    w
      .where(p =>
        p
          .where('state', 'pending')
          .where(n =>
            n.whereNull('not_before').orWhere('not_before', '<=', now),
          ),
      )
      .orWhere(r =>
        r.where('state', 'running').where('lease_expires_at', '<', now),
      ),
  );
}

/** Ids of the migrations in their copy step, whose parts may be written. */
function copyingMigrations(db: DbClient) {
  return whereActive(db('dm_migrations')).where('phase', 'copy').select('id');
}

/**
 * The parts of large objects (engine/partedCopy.ts): created with the
 * upload that holds them, leased like work items so that any replica can
 * write any part, and redone when a lease expires.
 */
export class PartStore {
  constructor(private readonly knex: Knex) {}

  /**
   * Records `uploadId` on the item `owner` leases and creates its parts,
   * pending, in one transaction. Returns false (and changes nothing) when
   * the lease was lost.
   */
  async create(
    item: WorkItem,
    owner: string,
    uploadId: string,
    parts: NewPart[],
  ): Promise<boolean> {
    return this.knex.transaction(async trx => {
      const updated = await trx('dm_work_items')
        .where({ id: item.id, lease_owner: owner, state: 'running' })
        .update({ upload_id: uploadId });
      if (updated === 0) return false;
      await trx('dm_parts').where('item_id', item.id).delete();
      for (let i = 0; i < parts.length; i += INSERT_ROWS) {
        await trx('dm_parts').insert(
          parts.slice(i, i + INSERT_ROWS).map(p => ({
            migration_id: item.migrationId,
            item_id: item.id,
            part_number: p.number,
            offset: p.offset,
            size: p.size,
            state: 'pending',
            attempts: 0,
            prefix_size: p.prefix ?? 0,
            sha256: p.sha256 ?? null,
          })),
        );
      }
      return true;
    });
  }

  /** The object's parts in number order. */
  async list(itemId: number): Promise<ObjectPart[]> {
    const rows: DbPartRow[] = await this.knex('dm_parts')
      .where('item_id', itemId)
      .orderBy('part_number', 'asc');
    return rows.map(fromRow);
  }

  async counts(itemId: number): Promise<PartCounts> {
    const rows: Array<{ state: PartState; n: DbCount }> = await this.knex(
      'dm_parts',
    )
      .where('item_id', itemId)
      .groupBy('state')
      .select('state')
      .count({ n: '*' });
    const counts: PartCounts = { pending: 0, running: 0, done: 0, failed: 0 };
    for (const r of rows) counts[r.state] = num(r.n);
    return counts;
  }

  /**
   * Leases up to `limit` parts that can be written now: pending and due, or
   * running on an expired lease, of migrations in their copy step (all of
   * them, or `itemId`'s only). The UPDATE re-checks the candidates'
   * claimability, so two replicas never both take a part.
   */
  async claim(
    owner: string,
    leaseMs: number,
    limit: number,
    itemId?: number,
  ): Promise<ClaimedPart[]> {
    if (limit <= 0) return [];
    const knex = this.knex;
    return knex.transaction(async trx => {
      const now = dbNow(trx);
      let candidates = whereClaimablePart(
        trx('dm_parts').select('id', 'state', 'lease_owner'),
        now,
      )
        .whereIn('migration_id', copyingMigrations(trx))
        .modify(q => {
          if (itemId !== undefined) q.where('item_id', itemId);
        })
        .orderBy('item_id', 'asc')
        .orderBy('part_number', 'asc')
        .limit(limit);
      if (isPostgres(trx)) candidates = candidates.forUpdate().skipLocked();
      const found: Array<Pick<DbPartRow, 'id' | 'state' | 'lease_owner'>> =
        await candidates;
      if (found.length === 0) return [];
      const ids = found.map(f => f.id);
      await whereClaimablePart(trx('dm_parts').whereIn('id', ids), now).update({
        state: 'running',
        lease_owner: owner,
        lease_expires_at: dbNowPlus(trx, leaseMs),
      });
      const rows: Array<DbPartRow & { key: string; upload_id: string | null }> =
        await trx('dm_parts as p')
          .join('dm_work_items as wi', 'wi.id', 'p.item_id')
          .whereIn('p.id', ids)
          .where({ 'p.lease_owner': owner, 'p.state': 'running' })
          .select('p.*', 'wi.key', 'wi.upload_id')
          .orderBy('p.item_id', 'asc')
          .orderBy('p.part_number', 'asc');
      const was = new Map(found.map(f => [String(f.id), f]));
      return rows
        .filter(r => r.upload_id)
        .map(r => {
          const previous = was.get(String(r.id));
          return {
            ...fromRow(r),
            key: r.key,
            uploadId: r.upload_id!,
            ...(previous?.state === 'running' &&
              previous.lease_owner &&
              previous.lease_owner !== owner && {
                reclaimedFrom: previous.lease_owner,
              }),
          };
        });
    });
  }

  /** Extends the leases `owner` still holds. */
  async heartbeat(ids: number[], owner: string, leaseMs: number) {
    if (ids.length === 0) return;
    await this.knex('dm_parts')
      .whereIn('id', ids)
      .where({ lease_owner: owner, state: 'running' })
      .update({ lease_expires_at: dbNowPlus(this.knex, leaseMs) });
  }

  /** Records a written part; false when the lease was lost meanwhile. */
  async finish(
    id: number,
    owner: string,
    written: {
      token: string;
      /** Unset when no verification needs it (see copyPart). */
      sha256?: string;
      crc32c?: string;
      result?: string;
    },
  ): Promise<boolean> {
    const n = await this.knex('dm_parts')
      .where({ id, lease_owner: owner, state: 'running' })
      .update({
        state: 'done',
        token: written.token,
        sha256: written.sha256 ?? null,
        crc32c: written.crc32c ?? null,
        result: written.result ?? null,
        lease_owner: null,
        lease_expires_at: null,
        last_error: null,
      });
    return n > 0;
  }

  /**
   * Records a failed attempt: pending again after `retryInMs` (database
   * clock), or failed for good when it is undefined.
   */
  async fail(
    id: number,
    owner: string,
    failure: { attempts: number; lastError: string; retryInMs?: number },
  ): Promise<boolean> {
    const n = await this.knex('dm_parts')
      .where({ id, lease_owner: owner, state: 'running' })
      .update({
        state: failure.retryInMs === undefined ? 'failed' : 'pending',
        attempts: failure.attempts,
        last_error: failure.lastError,
        not_before:
          failure.retryInMs === undefined
            ? null
            : dbNowPlus(this.knex, failure.retryInMs),
        lease_owner: null,
        lease_expires_at: null,
      });
    return n > 0;
  }

  /** Failed parts of the item become pending again (a retried migration). */
  async requeueFailed(itemId: number): Promise<number> {
    return this.knex('dm_parts')
      .where({ item_id: itemId, state: 'failed' })
      .update({ state: 'pending', attempts: 0, not_before: null });
  }

  /** Whether any part of an active migration's copy is claimable now. */
  async anyClaimable(): Promise<boolean> {
    const row = await whereClaimablePart(
      this.knex('dm_parts'),
      dbNow(this.knex),
    )
      .whereIn('migration_id', copyingMigrations(this.knex))
      .first('id');
    return row !== undefined;
  }

  /** Removes the parts of these items (their parted writes were aborted). */
  async deleteForItems(itemIds: number[]): Promise<void> {
    for (let i = 0; i < itemIds.length; i += INSERT_ROWS) {
      await this.knex('dm_parts')
        .whereIn('item_id', itemIds.slice(i, i + INSERT_ROWS))
        .delete();
    }
  }

  /** Removes a migration's parts (a re-run snapshot, data retention). */
  async deleteAll(migrationId: string): Promise<void> {
    await this.knex('dm_parts').where('migration_id', migrationId).delete();
  }
}

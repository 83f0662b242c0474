import { Knex } from 'knex';
import type { MigrationProgress } from '@internal/backstage-plugin-dataset-migration-common';
import type { ObjectInfo } from '@internal/backstage-plugin-dataset-migration-node';
import { isPostgres, num, optBool, optNum } from './migrations';

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

function fromRow(row: any): WorkItem {
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

/** Migrations whose items workers may take, and the stage they are in. */
function activeMigrations(db: Knex | Knex.Transaction) {
  return db('dm_migrations').where(w =>
    w
      .where(r =>
        r.where('state', 'running').whereIn('phase', ['copy', 'validate']),
      )
      .orWhere(r =>
        r.where('state', 'rolling-back').where('phase', 'rollback-items'),
      ),
  );
}

type Claimable = 'pending' | 'expired';

/**
 * Items of one migration stage that can be claimed now. Equality on
 * (migration_id, stage, state) lets both databases walk the index straight to
 * the candidates instead of scanning finished items on every claim.
 */
function claimableItems(
  q: Knex.QueryBuilder,
  migrationId: string,
  stage: ItemStage,
  kind: Claimable,
  now: number,
) {
  q.where({ migration_id: migrationId, stage });
  if (kind === 'pending') {
    return q
      .where('state', 'pending')
      .where(n => n.whereNull('not_before').orWhere('not_before', '<=', now));
  }
  return q.where('state', 'running').where('lease_expires_at', '<', now);
}

export class WorkItemStore {
  constructor(private readonly knex: Knex) {}

  async insertBatch(migrationId: string, objects: ObjectInfo[]): Promise<void> {
    if (objects.length === 0) return;
    await this.knex.batchInsert(
      'dm_work_items',
      objects.map(o => ({
        migration_id: migrationId,
        key: o.key,
        size: o.size,
        source_etag: o.etag ?? null,
        stage: 'copy',
        state: 'pending',
        attempts: 0,
        source_sha256: o.checksums?.sha256 ?? null,
      })),
      // SQLite allows 999 bound variables per statement.
      50,
    );
  }

  async deleteAll(migrationId: string): Promise<void> {
    await this.knex('dm_work_items')
      .where('migration_id', migrationId)
      .delete();
  }

  /**
   * Leases up to `limit` claimable items. PostgreSQL lets concurrent replicas
   * skip each other's locked rows; SQLite has a single writer, so a
   * conditional UPDATE per candidate is enough to make a claim exclusive.
   */
  /**
   * Leases up to `limit` claimable items. PostgreSQL lets concurrent replicas
   * skip each other's locked rows; SQLite has a single writer, so a
   * conditional UPDATE inside one short transaction makes a claim exclusive
   * (and costs one commit per batch rather than per item).
   */
  async claim(
    owner: string,
    leaseMs: number,
    limit: number,
  ): Promise<WorkItem[]> {
    if (limit <= 0) return [];
    const active: Array<{
      id: string;
      state: string;
      phase: string;
      options: string | null;
    }> = await activeMigrations(this.knex).select(
      'id',
      'state',
      'phase',
      'options',
    );
    const claimed: WorkItem[] = [];
    for (const m of active) {
      const stage = (
        m.state === 'rolling-back' ? 'rollback' : m.phase
      ) as ItemStage;
      // A per-migration cap (request option) across all replicas; soft, as
      // two replicas may both see the last free slot.
      const cap: number | undefined = m.options
        ? JSON.parse(m.options).concurrency
        : undefined;
      let capRoom = Infinity;
      if (cap) {
        const [{ n }] = await this.knex('dm_work_items')
          .where({ migration_id: m.id, stage, state: 'running' })
          .where('lease_expires_at', '>=', Date.now())
          .count({ n: '*' });
        capRoom = cap - num(n);
      }
      let taken = 0;
      for (const kind of ['pending', 'expired'] as Claimable[]) {
        const room = Math.min(limit - claimed.length, capRoom - taken);
        if (room <= 0) break;
        const batch = await this.claimFrom(
          owner,
          leaseMs,
          room,
          m.id,
          stage,
          kind,
        );
        taken += batch.length;
        claimed.push(...batch);
      }
      if (claimed.length >= limit) break;
    }
    return claimed;
  }

  private async claimFrom(
    owner: string,
    leaseMs: number,
    limit: number,
    migrationId: string,
    stage: ItemStage,
    kind: Claimable,
  ): Promise<WorkItem[]> {
    const now = Date.now();
    const patch = {
      state: 'running',
      lease_owner: owner,
      lease_expires_at: now + leaseMs,
      started_at: now,
    };
    // Re-checked in the UPDATE: a cancel or rollback may have moved the
    // migration on since it was listed as active.
    const stillActive = (db: Knex | Knex.Transaction) =>
      activeMigrations(db).where('id', migrationId).select('id');
    if (isPostgres(this.knex)) {
      // The MATERIALIZED CTE runs the locking subquery exactly once; inside a
      // plain `IN (…)` PostgreSQL may re-run it and claim more than `limit`.
      const rows = await this.knex
        .withMaterialized(
          'claimable',
          claimableItems(
            this.knex('dm_work_items').select('id'),
            migrationId,
            stage,
            kind,
            now,
          )
            .limit(limit)
            .forUpdate()
            .skipLocked(),
        )
        .table('dm_work_items')
        .whereIn('id', this.knex('claimable').select('id'))
        .whereIn('migration_id', stillActive(this.knex))
        .where('stage', stage)
        .update(patch)
        .returning('*');
      return rows.map(fromRow);
    }
    return this.knex.transaction(async trx => {
      const ids = (
        await claimableItems(
          trx('dm_work_items').select('id'),
          migrationId,
          stage,
          kind,
          now,
        ).limit(limit)
      ).map((r: { id: number }) => r.id);
      if (ids.length === 0) return [];
      await claimableItems(trx('dm_work_items'), migrationId, stage, kind, now)
        .whereIn('id', ids)
        .whereIn('migration_id', stillActive(trx))
        .update(patch);
      const rows = await trx('dm_work_items')
        .whereIn('id', ids)
        .where({ lease_owner: owner, state: 'running', started_at: now });
      return rows.map(fromRow);
    });
  }

  async heartbeat(
    ids: number[],
    owner: string,
    leaseMs: number,
  ): Promise<void> {
    if (ids.length === 0) return;
    await this.knex('dm_work_items')
      .whereIn('id', ids)
      .where({ lease_owner: owner, state: 'running' })
      .update({ lease_expires_at: Date.now() + leaseMs });
  }

  /**
   * Records progress on a leased item. Returns false when the lease was lost
   * (another worker took the item over), so the caller must not go on.
   */
  async update(
    item: WorkItem,
    owner: string,
    patch: {
      state?: ItemState;
      hadOriginal?: boolean;
      copyMethod?: string;
      sourceSha256?: string;
      sourceMd5?: string;
      targetSha256?: string | null;
      targetSize?: number | null;
      problem?: string | null;
      lastError?: string | null;
      attempts?: number;
      notBefore?: number | null;
    },
  ): Promise<boolean> {
    const row: Record<string, unknown> = {};
    if (patch.state !== undefined) {
      row.state = patch.state;
      if (patch.state !== 'running') {
        row.lease_owner = null;
        row.lease_expires_at = null;
        row.finished_at = Date.now();
      }
    }
    if (patch.hadOriginal !== undefined) row.had_original = patch.hadOriginal;
    if (patch.copyMethod !== undefined) {
      row.copy_method = patch.copyMethod;
      row.copied_at = Date.now();
    }
    if (patch.sourceSha256 !== undefined)
      row.source_sha256 = patch.sourceSha256;
    if (patch.sourceMd5 !== undefined) row.source_md5 = patch.sourceMd5;
    if (patch.targetSha256 !== undefined)
      row.target_sha256 = patch.targetSha256;
    if (patch.targetSize !== undefined) row.target_size = patch.targetSize;
    if (patch.problem !== undefined) row.problem = patch.problem;
    if (patch.lastError !== undefined) row.last_error = patch.lastError;
    if (patch.attempts !== undefined) row.attempts = patch.attempts;
    if (patch.notBefore !== undefined) row.not_before = patch.notBefore;
    const updated = await this.knex('dm_work_items')
      .where({
        id: item.id,
        lease_owner: owner,
        state: 'running',
        stage: item.stage,
      })
      .update(row);
    return updated === 1;
  }

  async stageCounts(
    migrationId: string,
    stage: ItemStage,
  ): Promise<Record<ItemState, number> & { leased: number }> {
    const now = Date.now();
    const rows: any[] = await this.knex('dm_work_items')
      .where({ migration_id: migrationId, stage })
      .groupBy('state')
      .select('state')
      .count({ count: '*' });
    const result = {
      pending: 0,
      running: 0,
      done: 0,
      failed: 0,
      skipped: 0,
      leased: 0,
    };
    for (const r of rows) result[r.state as ItemState] = num(r.count);
    const [{ leased }] = await this.knex('dm_work_items')
      .where({ migration_id: migrationId, state: 'running' })
      .where('lease_expires_at', '>=', now)
      .count({ leased: '*' });
    result.leased = num(leased);
    return result;
  }

  /** Items of a stage that did not finish, e.g. to re-queue them on retry. */
  async requeue(migrationId: string, stage: ItemStage): Promise<number> {
    return this.knex('dm_work_items')
      .where({ migration_id: migrationId, stage })
      .whereIn('state', ['pending', 'running', 'failed'])
      .update({
        state: 'pending',
        attempts: 0,
        not_before: null,
        lease_owner: null,
        lease_expires_at: null,
        last_error: null,
      });
  }

  async firstFailures(migrationId: string, limit: number): Promise<WorkItem[]> {
    const rows = await this.knex('dm_work_items')
      .where({ migration_id: migrationId, state: 'failed' })
      .orderBy('id')
      .limit(limit);
    return rows.map(fromRow);
  }

  /** Moves every item of a migration to a new stage, all pending. */
  async startStage(migrationId: string, stage: ItemStage): Promise<void> {
    await this.knex('dm_work_items').where('migration_id', migrationId).update({
      stage,
      state: 'pending',
      attempts: 0,
      not_before: null,
      lease_owner: null,
      lease_expires_at: null,
    });
  }

  /**
   * Rollback touches only items whose target key may have been written: the
   * migration records `had_original` before it writes anything.
   */
  async startRollback(migrationId: string): Promise<void> {
    const reset = {
      stage: 'rollback',
      attempts: 0,
      not_before: null,
      lease_owner: null,
      lease_expires_at: null,
    };
    await this.knex('dm_work_items')
      .where('migration_id', migrationId)
      .whereNull('had_original')
      .update({ ...reset, state: 'skipped' });
    await this.knex('dm_work_items')
      .where('migration_id', migrationId)
      .whereNotNull('had_original')
      .update({ ...reset, state: 'pending' });
  }

  /** Pages through a migration's items in byte order of their keys. */
  async *iterateByKey(
    migrationId: string,
    pageSize = 1000,
  ): AsyncGenerator<WorkItem> {
    const pg = isPostgres(this.knex);
    const keyExpr = pg ? 'key COLLATE "C"' : 'key';
    let after: string | undefined;
    for (;;) {
      const q = this.knex('dm_work_items').where('migration_id', migrationId);
      if (after !== undefined) q.whereRaw(`${keyExpr} > ?`, [after]);
      const rows = await q.orderByRaw(keyExpr).limit(pageSize);
      for (const row of rows) yield fromRow(row);
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1].key;
    }
  }

  async progress(ids: string[]): Promise<Map<string, MigrationProgress>> {
    const result = new Map<string, MigrationProgress>();
    for (const id of ids) {
      result.set(id, {
        totalItems: 0,
        doneItems: 0,
        failedItems: 0,
        totalBytes: 0,
        doneBytes: 0,
      });
    }
    if (ids.length === 0) return result;
    const rows: any[] = await this.knex('dm_work_items')
      .whereIn('migration_id', ids)
      .groupBy('migration_id', 'state')
      .select('migration_id', 'state')
      .count({ count: '*' })
      .sum({ bytes: 'size' });
    for (const r of rows) {
      const p = result.get(r.migration_id)!;
      const count = num(r.count);
      const bytes = num(r.bytes);
      p.totalItems += count;
      p.totalBytes += bytes;
      if (r.state === 'done' || r.state === 'skipped') {
        p.doneItems += count;
        p.doneBytes += bytes;
      } else if (r.state === 'failed') {
        p.failedItems += count;
      }
    }
    return result;
  }
}

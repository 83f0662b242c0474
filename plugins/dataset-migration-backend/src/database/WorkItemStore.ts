import { Knex } from 'knex';
import type { MigrationProgress } from '@internal/backstage-plugin-dataset-migration-common';
import type { ObjectInfo } from '@internal/backstage-plugin-dataset-migration-node';
import { DbBigInt, DbCount, DbWrite, isPostgres, num } from './rowValues';
import { ClaimBudget, claimItems } from './claims';
import { dbNow, dbNowPlus } from './clock';
import { readProgress } from './progress';
import { ItemPatch, patchToRow, RowPatch } from './workItemPatch';
import {
  DbWorkItemRow,
  fromRow,
  ItemStage,
  ItemState,
  WorkItem,
} from './workItemRows';

export type { ItemPatch } from './workItemPatch';
export type {
  DbWorkItemRow,
  ItemStage,
  ItemState,
  ItemTransformStats,
  WorkItem,
} from './workItemRows';

/** Items per multi-row UPDATE: well under SQLite's 999 bound variables. */
const UPDATE_CHUNK = 100;

/** PostgreSQL types of the columns a CASE may set (others are text). */
const PG_TYPES: Partial<Record<keyof DbWorkItemRow, string>> = {
  had_original: 'boolean',
  attempts: 'integer',
  not_before: 'bigint',
  target_size: 'bigint',
  finished_at: 'bigint',
  copied_at: 'bigint',
  lease_expires_at: 'bigint',
};

/** `dm_work_items`: one row per source object of a migration. */
export class WorkItemStore {
  constructor(private readonly knex: Knex) {}

  /** The snapshot's objects, as pending items of the copy stage. */
  async insertBatch(migrationId: string, objects: ObjectInfo[]): Promise<void> {
    if (objects.length === 0) return;
    await this.knex.batchInsert(
      'dm_work_items',
      objects.map(
        (o): DbWrite<DbWorkItemRow> => ({
          migration_id: migrationId,
          key: o.key,
          size: o.size,
          source_etag: o.etag ?? null,
          stage: 'copy',
          state: 'pending',
          attempts: 0,
          source_sha256: o.checksums?.sha256 ?? null,
          // Kept for the `checksum` verify mode, which compares them with
          // the target's without reading either object.
          source_md5: o.checksums?.md5 ?? null,
          source_crc32c: o.checksums?.crc32c ?? null,
        }),
      ),
      // SQLite allows 999 bound variables per statement.
      50,
    );
  }

  /**
   * Removes a migration's items (and their parts): a re-run snapshot lists
   * them afresh.
   */
  async deleteAll(migrationId: string): Promise<void> {
    await this.knex('dm_parts').where('migration_id', migrationId).delete();
    await this.knex('dm_work_items')
      .where('migration_id', migrationId)
      .delete();
  }

  /**
   * Leases up to `limit` items of active migrations to `owner` (claims.ts);
   * lease times are the database's (clock.ts).
   */
  claim(
    owner: string,
    leaseMs: number,
    limit: number,
    budget?: ClaimBudget,
  ): Promise<WorkItem[]> {
    return claimItems(this.knex, owner, leaseMs, limit, budget);
  }

  /** Extends the leases `owner` still holds. */
  async heartbeat(
    ids: number[],
    owner: string,
    leaseMs: number,
  ): Promise<void> {
    if (ids.length === 0) return;
    await this.knex('dm_work_items')
      .whereIn('id', ids)
      .where({ lease_owner: owner, state: 'running' })
      .update({ lease_expires_at: dbNowPlus(this.knex, leaseMs) });
  }

  /**
   * Records progress on a leased item. Returns false when the lease was lost
   * (another worker took the item over), so the caller must not go on.
   */
  async update(
    item: WorkItem,
    owner: string,
    patch: ItemPatch,
  ): Promise<boolean> {
    const updated = await this.knex('dm_work_items')
      .where({
        id: item.id,
        lease_owner: owner,
        state: 'running',
        stage: item.stage,
      })
      .update(patchToRow(patch, Date.now(), this.knex));
    return updated === 1;
  }

  /**
   * Records the progress of many leased items in as few
   * statements as their patches allow: one UPDATE per group of items whose
   * patches set the same columns in one stage (a `CASE id` per column whose values
   * differ), at most {@link UPDATE_CHUNK} items each. Returns the ids
   * written; an item missing from it lost its lease to another worker.
   */
  async updateMany(
    owner: string,
    entries: Array<{ id: number; stage: ItemStage; patch: ItemPatch }>,
  ): Promise<Set<number>> {
    const written = new Set<number>();
    const now = Date.now();
    const groups = new Map<
      string,
      { stage: ItemStage; rows: Array<{ id: number; row: RowPatch }> }
    >();
    for (const e of entries) {
      const row = patchToRow(e.patch, now, this.knex);
      const shape = `${e.stage}:${Object.keys(row).sort().join(',')}`;
      let group = groups.get(shape);
      if (!group) groups.set(shape, (group = { stage: e.stage, rows: [] }));
      group.rows.push({ id: e.id, row });
    }
    for (const { stage, rows: group } of groups.values()) {
      for (let i = 0; i < group.length; i += UPDATE_CHUNK) {
        const chunk = group.slice(i, i + UPDATE_CHUNK);
        const ids: Array<{ id: number | string }> = await this.knex(
          'dm_work_items',
        )
          .whereIn(
            'id',
            chunk.map(c => c.id),
          )
          .where({ lease_owner: owner, state: 'running', stage })
          .update(this.caseRow(chunk))
          .returning('id');
        for (const r of ids) written.add(Number(r.id));
      }
    }
    return written;
  }

  /**
   * One SET clause for many rows: a column every row sets to the same value
   * is set to it; one whose values differ becomes `CASE id WHEN … THEN … END`
   * (with a cast on PostgreSQL, whose parameters have no type in a CASE).
   */
  private caseRow(chunk: Array<{ id: number; row: RowPatch }>): RowPatch {
    const pg = isPostgres(this.knex);
    const set: Record<string, unknown> = {};
    const columns = Object.keys(chunk[0].row) as Array<keyof RowPatch>;
    for (const column of columns) {
      const values = chunk.map(c => c.row[column]);
      if (values.every(v => v === values[0])) {
        set[column] = values[0];
        continue;
      }
      const then = pg ? `CAST(? AS ${PG_TYPES[column] ?? 'text'})` : '?';
      const sql = `CASE id ${chunk
        .map(c => {
          if (!Number.isSafeInteger(c.id)) throw new Error(`Bad id ${c.id}`);
          return `WHEN ${c.id} THEN ${then}`;
        })
        .join(' ')} END`;
      set[column] = this.knex.raw(
        sql,
        values.map(v => (v === undefined ? null : v)) as Knex.Value[],
      );
    }
    return set as RowPatch;
  }

  /**
   * How many items of one stage are in each state, and `leased`: how many of
   * its `running` items hold a live lease (a worker may still write them).
   */
  async stageCounts(
    migrationId: string,
    stage: ItemStage,
  ): Promise<Record<ItemState, number> & { leased: number }> {
    const now = dbNow(this.knex);
    const rows: Array<{ state: ItemState; count: DbCount }> = await this.knex(
      'dm_work_items',
    )
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
    for (const r of rows) result[r.state] = num(r.count);
    const [{ leased }]: Array<{ leased: DbCount }> = await this.knex(
      'dm_work_items',
    )
      .where({ migration_id: migrationId, stage, state: 'running' })
      .where('lease_expires_at', '>=', now)
      .count({ leased: '*' });
    result.leased = num(leased);
    return result;
  }

  /**
   * Puts the items of a stage that did not finish (pending, running or
   * failed) back to pending with fresh attempts, for a retry; returns how
   * many. Finished items are left alone.
   */
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

  /** The first `limit` failed items, in insertion order. */
  async firstFailures(migrationId: string, limit: number): Promise<WorkItem[]> {
    const rows: DbWorkItemRow[] = await this.knex('dm_work_items')
      .where({ migration_id: migrationId, state: 'failed' })
      .orderBy('id')
      .limit(limit);
    return rows.map(fromRow);
  }

  /** Moves every item of a migration to a new stage, all pending, leases cleared. */
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
   * Moves every item to the rollback stage. Rollback touches only items
   * whose target key may have been written (pending): the migration records
   * `had_original` before it writes anything. The others are skipped.
   */
  async startRollback(migrationId: string): Promise<void> {
    const reset: DbWrite<DbWorkItemRow> = {
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

  /** How many target objects existed before and were backed up. */
  /**
   * Items whose parted write of the target began and never completed (a
   * copy in parts cancelled and not retried): their keys and upload ids.
   * Transforms in parts stage in the backup area instead and are left out.
   */
  async listOpenUploads(
    migrationId: string,
  ): Promise<Array<{ id: number; key: string; uploadId: string }>> {
    const rows: Array<{ id: DbBigInt; key: string; upload_id: string }> =
      await this.knex('dm_work_items')
        .where('migration_id', migrationId)
        .whereNotNull('upload_id')
        .whereNot('upload_id', 'like', 'transform:%')
        .where(q =>
          q.whereNull('copy_method').orWhereNot('copy_method', 'parts'),
        )
        .select('id', 'key', 'upload_id');
    return rows.map(r => ({
      id: num(r.id),
      key: r.key,
      uploadId: r.upload_id,
    }));
  }

  /**
   * Forgets the parted writes of items (aborted): a later copy of them
   * begins a new one.
   */
  async forgetUploads(ids: number[]): Promise<void> {
    for (let i = 0; i < ids.length; i += UPDATE_CHUNK) {
      await this.knex('dm_work_items')
        .whereIn('id', ids.slice(i, i + UPDATE_CHUNK))
        .update({ upload_id: null });
    }
  }

  async countOverwritten(migrationId: string): Promise<number> {
    const [{ count }]: Array<{ count: DbCount }> = await this.knex(
      'dm_work_items',
    )
      .where({ migration_id: migrationId, had_original: true })
      .count({ count: '*' });
    return num(count);
  }

  /**
   * Pages through a migration's items in byte order of their keys (`COLLATE
   * "C"` on PostgreSQL), so both databases walk them in the same order.
   */
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
      const rows: DbWorkItemRow[] = await q.orderByRaw(keyExpr).limit(pageSize);
      for (const row of rows) yield fromRow(row);
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1].key;
    }
  }

  /**
   * Item and byte counts of each migration, in total and per item stage
   * (`steps`, keyed by stage): an item past the copy stage counts as copied
   * (progress.ts).
   */
  progress(ids: string[]): Promise<Map<string, MigrationProgress>> {
    return readProgress(this.knex, ids);
  }
}

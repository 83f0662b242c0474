import { isRetryableError } from '@internal/backstage-plugin-dataset-migration-node';
import type { ItemStage, WorkItem } from '../database/WorkItemStore';
import { isDataKey, targetKeyOf } from '../transform/planTransform';
import { backoffDelay } from './backoff';
import { AbandonedError, EngineContext, StoreCache } from './context';
import { copyItem } from './copy';
import {
  backUpOriginal,
  errorMessage,
  ItemContext,
  ItemPatch,
  ItemReleasedError,
  LeaseLostError,
} from './itemContext';
import { listTargetsOfBatch } from './listedTargets';
import { rollbackItem } from './rollback';
import { validateItem } from './validate';

const STAGES = {
  copy: copyItem,
  validate: validateItem,
  rollback: rollbackItem,
};

/**
 * Buffered results are written at the latest this long after the previous
 * write, so the progress of a batch of medium-sized objects still moves.
 */
const FLUSH_INTERVAL_MS = 2000;
/**
 * How often a lane re-reads the state of its batch's migrations, so a cancel
 * on another replica stops it within about this long (one made on this
 * replica stops it before its next object).
 */
const STATE_CHECK_MS = 1000;

/** Whether items of `stage` may still be worked on in migration `m`. */
function takesItems(
  m: { state: string; phase?: string } | undefined,
  stage: ItemStage,
) {
  if (!m) return false;
  if (stage === 'rollback')
    return m.state === 'rolling-back' && m.phase === 'rollback-items';
  return m.state === 'running' && m.phase === stage;
}

interface Entry {
  item: WorkItem;
  ctx: ItemContext;
  started: number;
}

export interface BatchHooks {
  /** Records that an item was taken over from a replica whose lease expired. */
  reclaimed(item: WorkItem): Promise<void>;
  /** A handler for a failed heartbeat: logs, never throws. */
  survive(what: string): (e: unknown) => void;
  /** Counts the state changes made on this replica (see WorkerPool.nudge). */
  changes(): number;
  /** One attempt at an item ended: without an error when it succeeded. */
  attemptEnded(error?: unknown): void;
  /** A large object's parts were created: idle lanes may claim them. */
  partsCreated?(): void;
}

/**
 * One worker lane's claimed items, processed one after another with their
 * results recorded per batch rather than per object:
 *
 * 1. copy stage: every original in the target is backed up first, and all
 *    `had_original` flags are written in one statement — before any target
 *    write, which is what rollback relies on;
 * 2. each item's stage runs; its final result (done, with checksums) is
 *    buffered and written with the others' in one multi-row UPDATE at the
 *    end (or every {@link FLUSH_INTERVAL_MS}).
 *
 * A crash before a write redoes those items: copies rewrite the same bytes,
 * validation re-reads. Progress that is not final (a transform's backup
 * flag) is written at once, and failures are recorded per item.
 */
export class ItemBatch {
  private readonly live = new Map<number, WorkItem>();
  private readonly buffered: Array<
    Entry & { patch: ItemPatch; release?: boolean }
  > = [];
  private lastWrite = Date.now();
  private lastCheck = Date.now();
  private seenChanges: number;
  /** Migrations that stopped taking items (cancelled, failed) since the claim. */
  private readonly stopped = new Set<string>();

  constructor(
    private readonly engine: EngineContext,
    private readonly cache: StoreCache,
    private readonly items: WorkItem[],
    private readonly hooks: BatchHooks,
  ) {
    for (const item of items) this.live.set(item.id, item);
    this.seenChanges = hooks.changes();
  }

  /**
   * Whether the item's migration still takes items: re-read when this
   * replica changed a migration's state, else every {@link STATE_CHECK_MS}.
   * An item of a stopped migration is left as claimed; its lease expires.
   */
  private async stillWanted(item: WorkItem): Promise<boolean> {
    const changes = this.hooks.changes();
    if (
      changes !== this.seenChanges ||
      Date.now() - this.lastCheck >= STATE_CHECK_MS
    ) {
      this.seenChanges = changes;
      this.lastCheck = Date.now();
      const ids = new Set([...this.live.values()].map(i => i.migrationId));
      for (const id of ids) {
        if (this.stopped.has(id)) continue;
        const m = await this.engine.stores.migrations.get(id);
        const stage = [...this.live.values()].find(
          i => i.migrationId === id,
        )!.stage;
        if (!takesItems(m, stage)) this.stopped.add(id);
      }
    }
    return !this.stopped.has(item.migrationId);
  }

  async run(): Promise<void> {
    const { stores, workerId, config } = this.engine;
    for (const item of this.items) {
      if (item.reclaimedFrom) await this.hooks.reclaimed(item);
    }
    const timer = setInterval(() => {
      if (this.engine.signal.aborted || this.live.size === 0) return;
      const held = [...this.live.values()];
      const [first] = held;
      const what = `${first.stage} of '${first.key}' (migration ${first.migrationId})`;
      stores.items
        .heartbeat(
          held.map(i => i.id),
          workerId,
          config.leaseMs,
        )
        .catch(
          this.hooks.survive(
            held.length === 1
              ? `Could not extend the lease on ${what}; another replica may take it over when it expires`
              : `Could not extend the leases on ${held.length} work items, the first ${what}; another replica may take them over when they expire`,
          ),
        );
    }, config.leaseMs / 3);
    try {
      const entries = await this.open();
      await listTargetsOfBatch(entries);
      const ready = await this.backUpOriginals(entries);
      for (const entry of ready) {
        if (!this.live.has(entry.item.id)) continue;
        if (!(await this.stillWanted(entry.item))) {
          this.release(entry);
          continue;
        }
        if (!(await this.attempt(entry, STAGES[entry.item.stage]))) return;
        if (Date.now() - this.lastWrite >= FLUSH_INTERVAL_MS)
          await this.flush();
      }
      await this.flush();
    } catch (e) {
      if (!this.abandoned(e)) throw e;
    } finally {
      clearInterval(timer);
    }
  }

  /**
   * Gives an item of a stopped migration back: pending again, so a retry
   * finds it as it was before it was claimed.
   */
  private release(entry: Entry) {
    this.buffered.push({
      ...entry,
      patch: { state: 'pending' },
      release: true,
    });
  }

  /** The items' contexts; items of a migration that is gone are dropped. */
  private async open(): Promise<Entry[]> {
    const { stores } = this.engine;
    const entries: Entry[] = [];
    for (const item of this.items) {
      const opened = await this.cache.getById(item.migrationId, () =>
        stores.migrations.get(item.migrationId),
      );
      if (!opened) {
        this.live.delete(item.id);
        continue;
      }
      const transform = opened.plan?.transform;
      const rewrites =
        transform && isDataKey(item.key, transform.sourceFormat)
          ? transform
          : undefined;
      const entry: Entry = {
        item,
        started: Date.now(),
        ctx: {
          item,
          ...opened,
          targetKey: rewrites
            ? targetKeyOf(
                item.key,
                rewrites.sourceFormat,
                rewrites.targetFormat,
              )
            : item.key,
          transform: rewrites,
          transforms: this.engine.transforms,
          signal: this.engine.signal,
          save: patch => this.save(entry, patch),
          parted: {
            engine: this.engine,
            partsCreated: () => this.hooks.partsCreated?.(),
          },
        },
      };
      entries.push(entry);
    }
    return entries;
  }

  /**
   * Phase 1 of a copy batch: backs up the originals of plain copies and
   * records every `had_original` in one statement. Returns the entries left
   * to process (those whose backup failed were recorded as failures).
   */
  private async backUpOriginals(entries: Entry[]): Promise<Entry[]> {
    const todo = entries.filter(
      e =>
        e.item.stage === 'copy' &&
        !e.ctx.transform &&
        e.item.hadOriginal === null,
    );
    if (todo.length < 2) return entries;
    const flags: Array<{ entry: Entry; hadOriginal: boolean }> = [];
    for (const entry of todo) {
      const ok = await this.attempt(entry, ctx =>
        backUpOriginal({
          ...ctx,
          save: async patch => {
            flags.push({ entry, hadOriginal: patch.hadOriginal! });
          },
        }),
      );
      if (!ok) return [];
    }
    if (flags.length > 0) {
      this.engine.assertAlive();
      const written = await this.engine.stores.items.updateMany(
        this.engine.workerId,
        flags.map(f => ({
          id: f.entry.item.id,
          stage: f.entry.item.stage,
          patch: { hadOriginal: f.hadOriginal },
        })),
      );
      for (const f of flags) {
        if (written.has(f.entry.item.id))
          f.entry.item.hadOriginal = f.hadOriginal;
        else this.live.delete(f.entry.item.id);
      }
    }
    return entries;
  }

  /**
   * Runs one step of an item. A failure is recorded for that item alone;
   * returns false when the whole batch must stop (this replica abandons its
   * work).
   */
  private async attempt(
    entry: Entry,
    step: (ctx: ItemContext) => Promise<void>,
  ): Promise<boolean> {
    entry.started = Date.now();
    try {
      await step(entry.ctx);
      this.hooks.attemptEnded();
      return true;
    } catch (e) {
      if (this.abandoned(e)) return false;
      if (e instanceof ItemReleasedError) {
        this.release(entry);
        return true;
      }
      this.live.delete(entry.item.id);
      if (e instanceof LeaseLostError) return true;
      this.hooks.attemptEnded(e);
      await this.failOrRetry(entry, e).catch(err =>
        this.engine.logger.warn(
          `Could not record failure of '${entry.item.key}': ${errorMessage(
            err,
          )}`,
        ),
      );
      return true;
    }
  }

  private abandoned(e: unknown) {
    return e instanceof AbandonedError || this.engine.signal.aborted;
  }

  /**
   * A stage's save: a final result (a state) waits for the batch's write;
   * anything else is progress a later step relies on, written at once.
   */
  private async save(entry: Entry, patch: ItemPatch): Promise<void> {
    const { stores, workerId } = this.engine;
    this.engine.assertAlive();
    if (patch.state !== undefined && patch.state !== 'running') {
      this.buffered.push({ ...entry, patch });
      return;
    }
    if (!(await stores.items.update(entry.item, workerId, patch))) {
      throw new LeaseLostError(`Lost the lease on '${entry.item.key}'`);
    }
    if (patch.hadOriginal !== undefined)
      entry.item.hadOriginal = patch.hadOriginal;
  }

  /** Writes the buffered results in one statement per shape of patch. */
  private async flush(): Promise<void> {
    this.lastWrite = Date.now();
    if (this.buffered.length === 0) return;
    this.engine.assertAlive();
    const entries = this.buffered.splice(0);
    const written = await this.engine.stores.items.updateMany(
      this.engine.workerId,
      entries.map(e => ({
        id: e.item.id,
        stage: e.item.stage,
        patch: e.patch,
      })),
    );
    for (const e of entries) {
      this.live.delete(e.item.id);
      if (!written.has(e.item.id) || e.release) continue;
      this.finished(e, 'done');
    }
  }

  private finished(e: Entry, outcome: 'done' | 'retried' | 'failed') {
    const bytes =
      outcome === 'done' && e.item.stage === 'copy' ? e.item.size : 0;
    this.engine.metrics.itemFinished(
      e.item.stage as ItemStage,
      outcome,
      (Date.now() - e.started) / 1000,
      bytes,
    );
  }

  private async failOrRetry(entry: Entry, e: unknown) {
    const { item } = entry;
    const { stores, workerId, config } = this.engine;
    const attempts = item.attempts + 1;
    const reason = errorMessage(e);
    // Rollback must converge, so its errors are always retried (capped delay).
    const retry =
      item.stage === 'rollback' ||
      (isRetryableError(e) && attempts < config.retry.maxAttempts);
    if (retry) {
      const delay = backoffDelay(attempts, config.retry);
      if (
        !(await stores.items.update(item, workerId, {
          state: 'pending',
          attempts,
          // On the database's clock, which claims compare it with.
          dueInMs: delay,
          lastError: reason,
        }))
      )
        return;
      this.finished(entry, 'retried');
      await stores.events.append({
        migrationId: item.migrationId,
        type: 'item-retry',
        level: 'warn',
        message: `Retrying ${item.stage} of '${
          item.key
        }' in ${delay} ms (attempt ${attempts}${
          item.stage === 'rollback' ? '' : ` of ${config.retry.maxAttempts}`
        }): ${reason}`,
        details: {
          key: item.key,
          stage: item.stage,
          attempt: attempts,
          delayMs: delay,
        },
      });
      return;
    }
    if (
      !(await stores.items.update(item, workerId, {
        state: 'failed',
        attempts,
        lastError: reason,
      }))
    )
      return;
    this.finished(entry, 'failed');
    await stores.events.append({
      migrationId: item.migrationId,
      type: 'item-failed',
      level: 'error',
      message: `${item.stage} of '${item.key}' failed${
        isRetryableError(e) ? ` after ${attempts} attempts` : ' (not retryable)'
      }: ${reason}`,
      details: { key: item.key, stage: item.stage, attempts },
    });
  }
}

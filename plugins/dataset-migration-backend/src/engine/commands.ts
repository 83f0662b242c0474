/*
 * The user commands on a migration: approve, cancel, retry and rollback.
 * Which states each applies to comes from the one transition table in -common
 * (`MIGRATION_ACTION_RULES`), so the engine and the frontend's buttons agree;
 * any other state is refused with a 409 naming the allowed ones.
 */

import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  MIGRATION_ACTION_RULES,
  actionAppliesTo,
  type MigrationAction,
  type MigrationState,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { MigrationRow } from '../database/MigrationStore';
import type { Actor } from '../service/types';
import type { EngineContext, StoreCache } from './context';
import { describeDataAge } from './dataRetention';
import { probeStores } from './preflight';
import { changeState } from './transitions';

async function load(ctx: EngineContext, id: string): Promise<MigrationRow> {
  const m = await ctx.stores.migrations.get(id);
  if (!m) throw new NotFoundError(`Migration '${id}' does not exist`);
  return m;
}

/** The verb of each action as the 409 messages spell it. */
const VERBS: Record<MigrationAction, string> = {
  approve: 'approve',
  cancel: 'cancel',
  retry: 'retry',
  rollback: 'roll back',
};

function illegal(m: MigrationRow, action: MigrationAction) {
  const verb = VERBS[action];
  const allowed = MIGRATION_ACTION_RULES[action].from;
  return new ConflictError(
    `Cannot ${verb} migration '${m.id}': it is '${
      m.state
    }'; ${verb} is only possible when it is ${allowed
      .map(s => `'${s}'`)
      .join(' or ')}`,
  );
}

/** Refuses an action in a state its rule does not list. */
function assertApplies(m: MigrationRow, action: MigrationAction) {
  if (!actionAppliesTo(action, m.state)) throw illegal(m, action);
}

/** Runs a conditional transition; a lost race reads as an illegal transition. */
async function move(
  ctx: EngineContext,
  m: MigrationRow,
  action: MigrationAction,
  to: MigrationState,
  options: Parameters<typeof changeState>[4],
) {
  assertApplies(m, action);
  const { from } = MIGRATION_ACTION_RULES[action];
  if (!(await changeState(ctx.stores, m.id, from, to, options))) {
    const now = await load(ctx, m.id);
    assertDataKept(ctx, now, action);
    throw illegal(now, action);
  }
}

/**
 * A rollback or retry works from the migration's work items; the data
 * retention task may have deleted them (and `MigrationStore.transition`
 * then refuses any change of state).
 */
function assertDataKept(
  ctx: EngineContext,
  m: MigrationRow,
  action: MigrationAction,
) {
  if (!m.dataPurgedAt) return;
  // The retention that applied when it was purged, else today's.
  const configured = ctx.config.retention.dataAgeMs;
  const age =
    m.dataSummary?.dataAge ??
    (configured === undefined ? undefined : describeDataAge(configured));
  throw new ConflictError(
    `Cannot ${VERBS[action]} migration '${
      m.id
    }': its work items, events and report were purged on ${new Date(
      m.dataPurgedAt,
    ).toISOString()} after the retention${
      age ? ` of ${age}` : ''
    } (datasetMigration.retention.dataAge)`,
  );
}

/**
 * Approves a planned migration. The stores are probed (bounded by the
 * preflight timeout) so nothing is queued towards a store that cannot be
 * reached; the source is not re-listed here, which for a large source would
 * hold the request for minutes. The snapshot step lists it in the
 * background and stops the migration, before anything is written, when it
 * no longer matches the plan ({@link SourceDriftError}).
 */
export async function approve(
  ctx: EngineContext,
  cache: StoreCache,
  id: string,
  actor: Actor,
  reason?: string,
) {
  const m = await load(ctx, id);
  assertApplies(m, 'approve');
  const { source, target } = await cache.get(m);
  await probeStores([source, target], ctx.config.timeouts.preflightMs);
  await move(ctx, m, 'approve', 'queued', {
    actor: actor.ref,
    reason: reason ?? null,
    details: { approved: true },
  });
}

/**
 * Stops a migration: workers stop claiming its items, in-flight items finish
 * and are recorded, so a later rollback or retry sees a consistent state. A
 * rollback in progress cannot be cancelled: stopping it halfway would leave
 * the target neither migrated nor restored.
 */
export async function cancel(
  ctx: EngineContext,
  id: string,
  actor: Actor,
  reason?: string,
) {
  const m = await load(ctx, id);
  await move(ctx, m, 'cancel', 'cancelled', {
    actor: actor.ref,
    reason: reason ?? `Cancelled by ${actor.ref}`,
  });
}

export async function rollback(
  ctx: EngineContext,
  id: string,
  actor: Actor,
  reason?: string,
) {
  const m = await load(ctx, id);
  assertDataKept(ctx, m, 'rollback');
  assertBackupsKept(ctx, m);
  assertApplies(m, 'rollback');
  const moved = await changeState(
    ctx.stores,
    m.id,
    MIGRATION_ACTION_RULES.rollback.from,
    'rolling-back',
    {
      actor: actor.ref,
      phase: 'rollback-prepare',
      reason: reason ?? m.reason ?? `Rolled back by ${actor.ref}`,
      requireBackups: true,
    },
  );
  if (!moved) {
    // Lost a race: with another action, or with the retention task.
    const now = await load(ctx, id);
    assertDataKept(ctx, now, 'rollback');
    assertBackupsKept(ctx, now);
    throw illegal(now, 'rollback');
  }
}

/** A rollback needs the originals of what the migration overwrote. */
function assertBackupsKept(ctx: EngineContext, m: MigrationRow) {
  if (m.backupsPurgedAt && (m.backupsPurgedCount ?? 0) > 0) {
    const hours = Math.round(ctx.config.backups.retentionMs / 3_600_000);
    throw new ConflictError(
      `Cannot roll back migration '${m.id}': the backups of the ${
        m.backupsPurgedCount
      } target object(s) it overwrote were purged on ${new Date(
        m.backupsPurgedAt,
      ).toISOString()}, after the retention time of ${hours} hour(s) (datasetMigration.backups.retention), so the previous target can no longer be restored`,
    );
  }
}

/** Re-queues only what did not finish: finished items are never copied again. */
export async function retry(
  ctx: EngineContext,
  id: string,
  actor: Actor,
  reason?: string,
) {
  const m = await load(ctx, id);
  assertDataKept(ctx, m, 'retry');
  assertApplies(m, 'retry');
  if (m.phase === 'copy' || m.phase === 'validate') {
    const requeued = await ctx.stores.items.requeue(id, m.phase);
    await move(ctx, m, 'retry', 'running', {
      actor: actor.ref,
      reason: null,
      details: {
        retry: true,
        requeuedItems: requeued,
        step: m.phase,
        note: reason,
      },
    });
  } else if (
    m.phase === undefined ||
    m.phase === 'preflight' ||
    m.phase === 'snapshot'
  ) {
    // A migration cancelled before anyone approved it goes back to review:
    // a retry must not stand in for the approval.
    const approved = await wasApproved(ctx, id);
    await move(ctx, m, 'retry', approved ? 'queued' : 'awaiting-approval', {
      actor: actor.ref,
      phase: null,
      reason: null,
      details: { retry: true, note: reason },
    });
  } else {
    throw new ConflictError(
      `Cannot retry migration '${id}': it stopped during '${m.phase}', which is not retryable; roll it back instead`,
    );
  }
}

/** Whether the migration was ever approved (moved to `queued`). */
async function wasApproved(ctx: EngineContext, id: string): Promise<boolean> {
  let after = 0;
  for (;;) {
    const page = await ctx.stores.events.list(id, { after, limit: 500 });
    if (
      page.some(e => e.type === 'state-changed' && e.details?.to === 'queued')
    ) {
      return true;
    }
    if (page.length < 500) return false;
    after = page[page.length - 1].id;
  }
}

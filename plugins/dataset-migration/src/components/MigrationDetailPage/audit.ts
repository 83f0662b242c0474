import type {
  Migration,
  MigrationEvent,
  MigrationState,
} from '@internal/backstage-plugin-dataset-migration-common';

/** One line of the audit trail: who did what, when. */
export interface AuditEntry {
  id: number;
  action: string;
  actor?: string;
  at: string;
  /** The reason given, or what else is worth knowing. */
  note?: string;
}

function detail<T>(event: MigrationEvent, key: string): T | undefined {
  return event.details?.[key] as T | undefined;
}

/** `running → cancelled: the reason` → `the reason`. */
function reasonOf(event: MigrationEvent): string | undefined {
  const arrow = event.message.indexOf('→');
  const colon = event.message.indexOf(': ', arrow);
  return arrow >= 0 && colon >= 0
    ? event.message.slice(colon + 2).trim() || undefined
    : undefined;
}

function describeStateChange(event: MigrationEvent): string | undefined {
  const to = detail<MigrationState>(event, 'to');
  if (detail(event, 'approved')) {
    return detail(event, 'autoApprove') ? 'Approved automatically' : 'Approved';
  }
  if (detail(event, 'retry')) {
    return 'Retried';
  }
  switch (to) {
    case 'cancelled':
      return 'Cancelled';
    case 'rolling-back':
      return detail(event, 'automatic')
        ? 'Rollback started automatically'
        : 'Rollback requested';
    case 'rolled-back':
      return 'Rolled back';
    case 'succeeded':
      return 'Succeeded (cut over)';
    case 'failed':
      return 'Failed';
    default:
      // planned → awaiting-approval and the like: bookkeeping, not decisions.
      return undefined;
  }
}

/**
 * The decisions and outcomes in a migration's events: who planned, approved,
 * cancelled, retried or rolled it back, and when it succeeded or failed.
 */
export function auditEntries(events: MigrationEvent[]): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (const event of events) {
    let action: string | undefined;
    let note: string | undefined;
    if (event.type === 'created') {
      action = 'Planned';
    } else if (event.type === 'state-changed') {
      action = describeStateChange(event);
      note = reasonOf(event) ?? detail<string>(event, 'note');
    }
    if (action) {
      entries.push({
        id: event.id,
        action,
        actor: event.actor,
        at: event.createdAt,
        note,
      });
    }
  }
  return entries;
}

/** The event that moved the migration into its current state, if logged. */
export function lastTransition(
  migration: Migration,
  events: MigrationEvent[],
): MigrationEvent | undefined {
  return events
    .filter(
      e => e.type === 'state-changed' && e.details?.to === migration.state,
    )
    .at(-1);
}

/** Whether the migration was stopped at plan review (before approval). */
export function stoppedAtPlanReview(
  migration: Migration,
  events: MigrationEvent[],
): boolean {
  const from = lastTransition(migration, events)?.details?.from;
  return from === 'planned' || from === 'awaiting-approval';
}

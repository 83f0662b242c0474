import { Knex } from 'knex';
import type {
  MigrationEvent,
  MigrationEventLevel,
} from '@internal/backstage-plugin-dataset-migration-common';
import { DbBigInt, DbClient, DbJson, DbWrite, num } from './rowValues';

export interface NewEvent {
  migrationId: string;
  type: string;
  level?: MigrationEventLevel;
  message: string;
  actor?: string;
  details?: Record<string, unknown>;
}

/** A `dm_events` row as the database returns it. */
export interface DbEventRow {
  id: DbBigInt;
  migration_id: string;
  type: string;
  level: MigrationEventLevel;
  message: string;
  actor: string | null;
  created_at: DbBigInt;
  details: DbJson | null;
}

/**
 * Writes one audit event on `db`, which may be another store's transaction:
 * a state change and its event commit together (MigrationStore.transition).
 * It does not tell the listener; see {@link EventStore.notify}.
 */
export async function insertEvent(
  db: DbClient,
  event: NewEvent,
): Promise<void> {
  const row: DbWrite<DbEventRow> = {
    migration_id: event.migrationId,
    type: event.type,
    level: event.level ?? 'info',
    message: event.message,
    actor: event.actor ?? null,
    created_at: Date.now(),
    details: event.details ? JSON.stringify(event.details) : null,
  };
  await db('dm_events').insert(row);
}

function toEvent(row: DbEventRow): MigrationEvent {
  return {
    id: num(row.id),
    migrationId: row.migration_id,
    type: row.type,
    level: row.level,
    message: row.message,
    ...(row.actor ? { actor: row.actor } : {}),
    createdAt: new Date(num(row.created_at)).toISOString(),
    ...(row.details ? { details: JSON.parse(row.details) } : {}),
  };
}

/** Append-only audit log; ids are monotonic so readers can poll `after`. */
export class EventStore {
  constructor(
    private readonly knex: Knex,
    /**
     * Sees each event (never awaited, never fails a write), e.g. to send
     * notifications. It must see an event only once it is committed.
     */
    private readonly onAppend?: (event: NewEvent) => Promise<void>,
  ) {}

  /**
   * Writes an event and tells the listener. To write one inside a
   * transaction, use {@link insertEvent} and call {@link EventStore.notify}
   * after the commit.
   */
  async append(event: NewEvent): Promise<void> {
    await insertEvent(this.knex, event);
    this.notify(event);
  }

  /** Tells the listener about an event another store wrote and committed. */
  notify(event: NewEvent): void {
    this.onAppend?.(event).catch(() => {});
  }

  async list(
    migrationId: string,
    options: { after: number; limit: number },
  ): Promise<MigrationEvent[]> {
    const rows: DbEventRow[] = await this.knex('dm_events')
      .where('migration_id', migrationId)
      .andWhere('id', '>', options.after)
      .orderBy('id', 'asc')
      .limit(options.limit);
    return rows.map(toEvent);
  }
}

import { Knex } from 'knex';
import type {
  MigrationEvent,
  MigrationEventLevel,
} from '@internal/backstage-plugin-dataset-migration-common';
import { num } from './migrations';

export interface NewEvent {
  migrationId: string;
  type: string;
  level?: MigrationEventLevel;
  message: string;
  actor?: string;
  details?: Record<string, unknown>;
}

/** Append-only audit log; ids are monotonic so readers can poll `after`. */
export class EventStore {
  constructor(
    private readonly knex: Knex,
    /**
     * Sees each appended event (never awaited, never fails an append). It
     * fires at once, so an append inside a transaction would be seen before
     * the commit; no caller appends events in one.
     */
    private readonly onAppend?: (event: NewEvent) => Promise<void>,
  ) {}

  async append(event: NewEvent, trx?: Knex.Transaction): Promise<void> {
    await (trx ?? this.knex)('dm_events').insert({
      migration_id: event.migrationId,
      type: event.type,
      level: event.level ?? 'info',
      message: event.message,
      actor: event.actor ?? null,
      created_at: Date.now(),
      details: event.details ? JSON.stringify(event.details) : null,
    });
    this.onAppend?.(event).catch(() => {});
  }

  async list(
    migrationId: string,
    options: { after: number; limit: number },
  ): Promise<MigrationEvent[]> {
    const rows = await this.knex('dm_events')
      .where('migration_id', migrationId)
      .andWhere('id', '>', options.after)
      .orderBy('id', 'asc')
      .limit(options.limit);
    return rows.map(row => ({
      id: num(row.id),
      migrationId: row.migration_id,
      type: row.type,
      level: row.level,
      message: row.message,
      ...(row.actor ? { actor: row.actor } : {}),
      createdAt: new Date(num(row.created_at)).toISOString(),
      ...(row.details ? { details: JSON.parse(row.details) } : {}),
    }));
  }
}

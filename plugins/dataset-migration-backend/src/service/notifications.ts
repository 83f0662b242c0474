import type { LoggerService } from '@backstage/backend-plugin-api';
import type {
  Migration,
  MigrationState,
} from '@internal/backstage-plugin-dataset-migration-common';
import type {
  NotificationSendOptions,
  NotificationService,
} from '@backstage/plugin-notifications-node';
import type { NewEvent } from '../database/EventStore';
import type { MigrationService } from './types';

/** Topic of every notification the plugin sends (users can mute it). */
export const NOTIFICATION_TOPIC = 'dataset-migration';

/** The states that notify someone, and whom. */
const NOTIFIED: Partial<
  Record<MigrationState, { consumers: boolean; excludeActor: boolean }>
> = {
  'awaiting-approval': { consumers: false, excludeActor: true },
  succeeded: { consumers: true, excludeActor: false },
  failed: { consumers: false, excludeActor: false },
  'rolled-back': { consumers: true, excludeActor: false },
};

function name(ref: string) {
  return ref.split('/').pop() ?? ref;
}

/**
 * What the dataset's owners are told. Entity recipients are resolved by the
 * notifications backend: a dataset or a consumer routes to its owner, a
 * group to its members.
 */
function ownerPayload(m: Migration): NotificationSendOptions['payload'] {
  const dataset = name(m.dataset);
  const link = `/dataset-migrations/${m.id}`;
  const base = { link, topic: NOTIFICATION_TOPIC, scope: `${m.id}:${m.state}` };
  switch (m.state) {
    case 'awaiting-approval':
      return {
        ...base,
        title: `Migration of ${dataset} awaits approval`,
        description: `${name(m.createdBy)} planned moving ${m.dataset} from ${
          m.source.location
        } to ${m.target.location}${
          m.plan
            ? ` (${m.plan.source.objectCount} objects, ${m.plan.overwrites.count} overwrite(s), ${m.plan.consumers.length} consumer(s))`
            : ''
        }. Review the plan and approve it.`,
      };
    case 'succeeded':
      return {
        ...base,
        title: `Migration of ${dataset} succeeded`,
        description: `${m.dataset} now lives at ${m.target.location}; validation passed.`,
      };
    case 'failed':
      return {
        ...base,
        severity: 'high',
        title: `Migration of ${dataset} failed`,
        description: `${
          m.reason ?? 'The migration failed'
        }. It is rolled back automatically.`,
      };
    default:
      return {
        ...base,
        severity: 'high',
        title: `Migration of ${dataset} was rolled back`,
        description: `${m.dataset} is back at ${m.source.location}${
          m.reason ? `: ${m.reason}` : ''
        }.`,
      };
  }
}

/** What the owners of the dataset's consumers are told at cutover and rollback. */
function consumerPayload(m: Migration): NotificationSendOptions['payload'] {
  const base = {
    link: `/dataset-migrations/${m.id}`,
    topic: NOTIFICATION_TOPIC,
    scope: `${m.id}:${m.state}:consumers`,
    severity: 'high' as const,
  };
  return m.state === 'succeeded'
    ? {
        ...base,
        title: `${name(m.dataset)}, which your software reads, moved`,
        description: `${m.dataset} moved from ${m.source.location} to ${
          m.target.location
        }${
          m.target.format ? ` (${m.target.format})` : ''
        }. Point readers at the new location.`,
      }
    : {
        ...base,
        title: `${name(m.dataset)}, which your software reads, was moved back`,
        description: `The migration of ${m.dataset} was rolled back: read it from ${m.source.location} again.`,
      };
}

/**
 * Sends notifications on the state changes of the audit log. Best effort:
 * a failure is logged and never affects the migration.
 */
export function createMigrationNotifier(options: {
  notifications: NotificationService;
  migrations: Pick<MigrationService, 'get'>;
  logger: LoggerService;
}): { onEvent(event: NewEvent): Promise<void> } {
  const { notifications, migrations, logger } = options;
  return {
    async onEvent(event) {
      if (event.type !== 'state-changed') return;
      const to = event.details?.to as MigrationState | undefined;
      const rule = to && NOTIFIED[to];
      if (!rule) return;
      try {
        const current = await migrations.get(event.migrationId);
        if (!current) return;
        // The migration may have moved on (failed → rolling-back at once).
        const m: Migration = { ...current, state: to };
        const actor = event.actor?.startsWith('user:')
          ? event.actor
          : undefined;
        await notifications.send({
          recipients: {
            type: 'entity',
            entityRef: m.dataset,
            ...(rule.excludeActor && actor && { excludeEntityRef: actor }),
          },
          payload: ownerPayload(m),
        });
        const consumers = m.plan?.consumers ?? [];
        if (rule.consumers && consumers.length > 0) {
          await notifications.send({
            recipients: { type: 'entity', entityRef: consumers },
            payload: consumerPayload(m),
          });
        }
      } catch (e) {
        logger.warn(
          `Could not send the notification of migration ${
            event.migrationId
          } (${to}): ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    },
  };
}

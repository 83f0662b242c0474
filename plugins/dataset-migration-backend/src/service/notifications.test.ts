import { mockServices } from '@backstage/backend-test-utils';
import type { Migration } from '@internal/backstage-plugin-dataset-migration-common';
import type { NotificationSendOptions } from '@backstage/plugin-notifications-node';
import { createMigrationNotifier } from './notifications';

const migration: Migration = {
  id: 'm1',
  dataset: 'resource:default/plays',
  source: { location: 'file://data/plays' },
  target: { location: 'file://data/plays-v2' },
  strategy: 'bulk-copy',
  state: 'rolling-back',
  reason: "1 object(s) could not be copied; first: 'a.csv': disk full",
  progress: {
    totalItems: 1,
    doneItems: 0,
    failedItems: 1,
    totalBytes: 1,
    doneBytes: 0,
  },
  createdBy: 'user:default/mock',
  createdAt: '2026-12-03T00:00:00Z',
  updatedAt: '2026-12-03T00:00:00Z',
};

describe('createMigrationNotifier', () => {
  it('tells the owners of a failure even when the rollback already started', async () => {
    const sent: NotificationSendOptions[] = [];
    const notifier = createMigrationNotifier({
      notifications: { send: async n => void sent.push(n) },
      migrations: { get: async () => migration },
      logger: mockServices.logger.mock(),
    });
    await notifier.onEvent({
      migrationId: 'm1',
      type: 'state-changed',
      message: 'running → failed',
      details: { from: 'running', to: 'failed' },
    });
    expect(sent).toEqual([
      {
        recipients: { type: 'entity', entityRef: 'resource:default/plays' },
        payload: expect.objectContaining({
          title: 'Migration of plays failed',
          severity: 'high',
          link: '/dataset-migrations/m1',
          description: `${migration.reason}. It is rolled back automatically.`,
        }),
      },
    ]);
  });

  it('ignores steps and states nobody needs to hear of, and never throws', async () => {
    const logger = mockServices.logger.mock();
    const send = jest.fn(async () => {
      throw new Error('notifications backend is down');
    });
    const notifier = createMigrationNotifier({
      notifications: { send },
      migrations: { get: async () => migration },
      logger,
    });
    await notifier.onEvent({ migrationId: 'm1', type: 'step', message: 'x' });
    await notifier.onEvent({
      migrationId: 'm1',
      type: 'state-changed',
      message: 'queued → running',
      details: { from: 'queued', to: 'running' },
    });
    expect(send).not.toHaveBeenCalled();
    await notifier.onEvent({
      migrationId: 'm1',
      type: 'state-changed',
      message: '→ rolled-back',
      details: { to: 'rolled-back' },
    });
    expect(send).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringMatching(
        /Could not send the notification of migration m1 \(rolled-back\): notifications backend is down/,
      ),
    );
  });
});

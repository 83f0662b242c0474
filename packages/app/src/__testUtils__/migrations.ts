import type {
  FleetStatus,
  Migration,
} from '@internal/backstage-plugin-dataset-migration-common';

export function makeMigration(overrides: Partial<Migration> = {}): Migration {
  return {
    id: 'm-1',
    dataset: 'resource:default/plays-daily',
    source: { location: 'file://examples/plays-daily', format: 'csv' },
    target: { location: 'file://targets/plays-daily', format: 'csv' },
    strategy: 'bulk-copy',
    state: 'running',
    step: 'copy',
    progress: {
      totalItems: 200,
      doneItems: 50,
      failedItems: 0,
      totalBytes: 4000,
      doneBytes: 1000,
    },
    createdBy: 'user:default/guest',
    createdAt: '2026-11-21T10:00:00.000Z',
    updatedAt: '2026-11-21T10:05:00.000Z',
    ...overrides,
  };
}

export const fleet: FleetStatus = {
  queueDepth: 1500,
  inFlight: 8,
  workers: [
    { id: 'replica-a', lastSeenAt: '2026-11-21T10:00:00Z', inFlight: 4 },
    { id: 'replica-b', lastSeenAt: '2026-11-21T10:00:00Z', inFlight: 4 },
  ],
  migrations: { running: 2, 'awaiting-approval': 1 },
  throughput: { itemsPerMinute: 420, bytesPerMinute: 3 * 1024 ** 3 },
};

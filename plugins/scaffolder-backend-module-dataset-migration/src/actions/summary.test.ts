import {
  describeMigration,
  formatBytes,
  formatDuration,
  migrationUrl,
} from './summary';

describe('summary', () => {
  it('formats sizes and durations for people', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 ** 4)).toBe('3.0 TiB');
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(600)).toBe('10 min');
    expect(formatDuration(4 * 3600)).toBe('4.0 h');
  });

  it('builds the migration page URL without doubled slashes', () => {
    expect(migrationUrl('http://localhost:3000/')).toBe(
      'http://localhost:3000/dataset-migrations',
    );
    expect(migrationUrl('http://localhost:3000', 'a/b')).toBe(
      'http://localhost:3000/dataset-migrations/a%2Fb',
    );
  });

  it('says so when nothing is overwritten and nobody consumes the dataset', () => {
    expect(
      describeMigration(
        {
          id: 'm1',
          state: 'queued',
          dataset: 'resource:default/plays',
          strategy: 'bulk-copy',
          targetLocation: 'gs://lake/plays',
          plan: {
            objects: 1,
            bytes: 10,
            overwrites: 0,
            consumers: [],
            estimatedSeconds: 1,
          },
        },
        'http://x/dataset-migrations/m1',
      ),
    ).toBe(
      'Created bulk-copy migration m1 of resource:default/plays to gs://lake/plays; state: queued. ' +
        'Plan: 1 object, 10 B, estimated 1 s. No existing target object will be overwritten. ' +
        'No consumers depend on this dataset. Follow it at http://x/dataset-migrations/m1',
    );
  });

  it('copes with a migration the backend has not planned yet', () => {
    expect(
      describeMigration(
        {
          id: 'm2',
          state: 'planned',
          dataset: 'resource:default/plays',
          strategy: 'schema-transform',
          targetLocation: 's3://b/p',
          plan: null,
        },
        'u',
      ),
    ).toBe(
      'Created schema-transform migration m2 of resource:default/plays to s3://b/p; state: planned. Follow it at u',
    );
  });
});

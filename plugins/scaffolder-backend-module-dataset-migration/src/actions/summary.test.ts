import {
  type CreatedMigration,
  describeDryRunMarkdown,
  describeMigration,
  describeMigrationMarkdown,
  entityLink,
  formatBytes,
  formatCount,
  formatDuration,
  humanizeEntityRef,
  migrationPath,
  migrationUrl,
} from './summary';

const planned: CreatedMigration = {
  id: 'm1',
  state: 'awaiting-approval',
  dataset: 'resource:default/plays',
  strategy: 'bulk-copy',
  targetLocation: 's3://archive/plays',
  plan: {
    objects: 1234,
    bytes: 1.4 * 1024 ** 2,
    overwrites: 0,
    consumers: ['component:default/charts', 'component:analytics/royalties'],
    estimatedSeconds: 720,
  },
};

describe('summary', () => {
  it('formats sizes and durations for people', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(227)).toBe('227 B');
    expect(formatBytes(1.4 * 1024 ** 2)).toBe('1.4 MiB');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 ** 4)).toBe('3.0 TiB');
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(600)).toBe('10 min');
    expect(formatDuration(4 * 3600)).toBe('4.0 h');
  });

  it('builds the in-app path of a migration page', () => {
    expect(migrationPath()).toBe('/dataset-migrations');
    expect(migrationPath('3f2a-9c')).toBe('/dataset-migrations/3f2a-9c');
    expect(migrationPath('a/b')).toBe('/dataset-migrations/a%2Fb');
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

  it('names entity refs readably and links them to their catalog page', () => {
    expect(humanizeEntityRef('component:default/charts')).toBe(
      'component:charts',
    );
    expect(humanizeEntityRef('Component:Analytics/royalties')).toBe(
      'component:Analytics/royalties',
    );
    expect(entityLink('component:default/charts')).toBe(
      '[component:charts](/catalog/default/component/charts)',
    );
    expect(entityLink('Component:Analytics/my_service')).toBe(
      '[component:Analytics/my\\_service](/catalog/analytics/component/my_service)',
    );
    expect(entityLink('not a ref')).toBe('`not a ref`');
  });

  it('writes the result page text as Markdown for people', () => {
    expect(describeMigrationMarkdown(planned, '/dataset-migrations/m1')).toBe(
      [
        'Migration [`m1`](/dataset-migrations/m1) of [resource:plays](/catalog/default/resource/plays) to `s3://archive/plays` is **awaiting approval**.',
        '',
        '| Plan | |',
        '|---|---|',
        '| Strategy | bulk-copy |',
        '| Objects | 1,234 |',
        '| Size | 1.4 MiB |',
        '| Estimated time | 12 min |',
        '| Existing target objects overwritten (backed up first) | 0 |',
        '| Consumers to notify | [component:charts](/catalog/default/component/charts), [component:analytics/royalties](/catalog/analytics/component/royalties) |',
        '',
        'Nothing is written until it is approved on [its page](/dataset-migrations/m1).',
      ].join('\n'),
    );
  });

  it('says "none" without consumers and copes with a missing plan', () => {
    const queued = {
      ...planned,
      state: 'queued',
      plan: { ...planned.plan!, consumers: [] },
    };
    const text = describeMigrationMarkdown(queued, '/dataset-migrations/m1');
    expect(text).toContain('| Consumers to notify | none |');
    expect(text).toContain('is **queued**');
    expect(text).not.toContain('approved');

    expect(
      describeMigrationMarkdown(
        { ...planned, state: 'planned', plan: null },
        '/dataset-migrations/m1',
      ),
    ).toContain('The plan is not ready yet');
  });

  it('keeps backticks in a location from breaking the code span', () => {
    const text = describeMigrationMarkdown(
      { ...planned, targetLocation: 's3://b/odd`key' },
      '/p',
    );
    expect(text).toContain('to ``s3://b/odd`key`` is');
  });

  it('describes a dry run, which creates nothing', () => {
    expect(
      describeDryRunMarkdown({
        dataset: 'resource:default/plays',
        strategy: 'bulk-copy',
        target: { location: 'gs://lake/plays' },
      }),
    ).toBe(
      'Dry run: would plan a bulk-copy migration of [resource:plays](/catalog/default/resource/plays) to `gs://lake/plays`. Nothing was created.',
    );
  });
});

import { Knex } from 'knex';
import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { metrics } from '@opentelemetry/api';
import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import packageJson from '../../package.json';
import {
  migrateLatest,
  migrationRow,
} from '../database/__testUtils__/fixtures';
import { MetricsStore } from '../database/MetricsStore';
import { MigrationRow, MigrationStore } from '../database/MigrationStore';
import { WorkItemStore } from '../database/WorkItemStore';
import { readDbNow } from '../database/clock';
import { createTestEngine, tempRoot } from './__testUtils__/harness';
import {
  databaseGaugeSources,
  EngineMetrics,
  EngineMetricsOptions,
  METER_NAME,
} from './metrics';

jest.setTimeout(60_000);

/** A pull reader: the test decides when a collection (a scrape) happens. */
class PullReader extends MetricReader {
  protected async onShutdown() {}
  protected async onForceFlush() {}
}

/** One collection, as metric name -> data. */
async function collect(reader: MetricReader) {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  const byName = new Map<string, MetricData & { scope: string }>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const m of scope.metrics) {
      byName.set(m.descriptor.name, {
        ...m,
        scope: `${scope.scope.name}@${scope.scope.version}`,
      });
    }
  }
  return byName;
}

/** A sum or gauge's values keyed by their attributes, e.g. `stage=copy`. */
function values(m: MetricData | undefined): Record<string, number> {
  const result: Record<string, number> = {};
  for (const p of m?.dataPoints ?? []) {
    const key = Object.entries(p.attributes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    result[key] = p.value as number;
  }
  return result;
}

function setupMeter() {
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });
  return { reader, provider, meter: provider.getMeter('test') };
}

describe('EngineMetrics', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_16'] });

  /**
   * Migrations in every situation a claim distinguishes. The ones that
   * count: m-copy has 3 due pending items and 1 on an expired lease (copy
   * 4), m-validate 2 pending (validate 2), m-rollback 1 (rollback 1).
   */
  async function seed(knex: Knex) {
    const migrations = new MigrationStore(knex);
    const items = new WorkItemStore(knex);
    const insert = async (
      id: string,
      state: MigrationRow['state'],
      phase: MigrationRow['phase'],
      keys: string[],
    ) => {
      await migrations.insert(migrationRow(id, { state, phase }));
      await items.insertBatch(
        id,
        keys.map(key => ({ key, size: 10 })),
      );
    };
    const set = (id: string, keys: string[], patch: Record<string, unknown>) =>
      knex('dm_work_items')
        .where('migration_id', id)
        .whereIn('key', keys)
        .update(patch);
    const now = await readDbNow(knex);

    await insert('m-copy', 'running', 'copy', [
      'p1',
      'p2',
      'p3',
      'backoff',
      'expired',
      'mine',
      'done',
      'failed',
    ]);
    await set('m-copy', ['p3'], { not_before: now - 1_000 }); // due again
    await set('m-copy', ['backoff'], { not_before: now + 600_000 });
    await set('m-copy', ['expired'], {
      state: 'running',
      lease_owner: 'dead-replica',
      lease_expires_at: now - 1_000,
    });
    await set('m-copy', ['mine'], {
      state: 'running',
      lease_owner: 'me',
      lease_expires_at: now + 600_000,
    });
    await set('m-copy', ['done'], { state: 'done' });
    await set('m-copy', ['failed'], { state: 'failed' });

    await insert('m-validate', 'running', 'validate', ['v1', 'v2']);
    await items.startStage('m-validate', 'validate');

    await insert('m-rollback', 'rolling-back', 'rollback-items', ['r1', 'r2']);
    await set('m-rollback', ['r1'], { had_original: true });
    await items.startRollback('m-rollback'); // r2 never written: skipped

    // Pending items of migrations whose items nobody may claim.
    await insert('m-queued', 'queued', undefined, ['q1', 'q2']);
    await insert('m-snapshot', 'running', 'snapshot', ['s1']);
    await insert('m-done', 'succeeded', undefined, ['d1']);
    await set('m-done', ['d1'], { state: 'pending' });
    return { migrations, items };
  }

  function engineMetrics(
    knex: Knex,
    meter: EngineMetricsOptions['meter'],
    extra: Partial<EngineMetricsOptions> = {},
  ) {
    return new EngineMetrics({
      sources: databaseGaugeSources(
        {
          metrics: new MetricsStore(knex),
          migrations: new MigrationStore(knex),
        },
        'me',
      ),
      meter,
      ...extra,
    });
  }

  it.each(databases.eachSupportedId())(
    'reports claimable items by stage, migrations by state and this replica’s items, %p',
    async databaseId => {
      const knex = await migrateLatest(await databases.init(databaseId));
      const { items } = await seed(knex);
      const { reader, meter } = setupMeter();
      const m = engineMetrics(knex, meter);

      const collected = await collect(reader);
      expect(values(collected.get('dataset_migration.queue.depth'))).toEqual({
        'stage=copy': 4,
        'stage=validate': 2,
        'stage=rollback': 1,
      });
      expect(
        collected.get('dataset_migration.queue.depth')?.descriptor,
      ).toEqual(expect.objectContaining({ unit: '{item}' }));
      expect(
        values(collected.get('dataset_migration.items.in_flight')),
      ).toEqual({ '': 1 });
      expect(values(collected.get('dataset_migration.migrations'))).toEqual({
        'state=planned': 0,
        'state=awaiting-approval': 0,
        'state=queued': 1,
        'state=running': 3,
        'state=succeeded': 1,
        'state=failed': 0,
        'state=cancelled': 0,
        'state=rolling-back': 1,
        'state=rolled-back': 0,
      });

      // The depth is exactly what a claim hands out, so it cannot drift
      // from claims.ts unnoticed.
      const claimed = await items.claim('other', 600_000, 100);
      expect(claimed.map(i => i.key).sort()).toEqual(
        ['expired', 'p1', 'p2', 'p3', 'r1', 'v1', 'v2'].sort(),
      );
      m.close();
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'reuses one read of the database for the cache period, %p',
    async databaseId => {
      const knex = await migrateLatest(await databases.init(databaseId));
      await seed(knex);
      let queries = 0;
      knex.on('query', () => queries++);
      let now = 1_000_000;
      const { reader, meter } = setupMeter();
      const m = engineMetrics(knex, meter, { cacheMs: 5_000, now: () => now });

      await collect(reader);
      const perRead = queries;
      expect(perRead).toBeGreaterThan(0);
      await new WorkItemStore(knex).insertBatch('m-copy', [
        { key: 'late', size: 1 },
      ]);
      queries = 0;

      // A scrape storm within the period: no query, the old numbers.
      now += 4_999;
      const [a, b] = await Promise.all([collect(reader), collect(reader)]);
      expect(queries).toBe(0);
      for (const c of [a, b]) {
        expect(
          values(c.get('dataset_migration.queue.depth'))['stage=copy'],
        ).toBe(4);
      }

      now += 1;
      const fresh = await collect(reader);
      expect(queries).toBe(perRead);
      expect(
        values(fresh.get('dataset_migration.queue.depth'))['stage=copy'],
      ).toBe(5);
      m.close();
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'observes nothing new and warns once when the database cannot be read, %p',
    async databaseId => {
      const knex = await migrateLatest(await databases.init(databaseId));
      await seed(knex);
      const logger = mockServices.logger.mock();
      const { reader, meter } = setupMeter();
      // No cache: the gauges of one collection still share a single read.
      const m = engineMetrics(knex, meter, { logger, cacheMs: 0 });
      const gauges = [
        'dataset_migration.queue.depth',
        'dataset_migration.items.in_flight',
        'dataset_migration.migrations',
      ];
      const before = await collect(reader);
      expect(logger.warn).not.toHaveBeenCalled();
      await knex.schema.dropTable('dm_work_items');

      const after = await collect(reader);
      // The cumulative export repeats the last values read, never zeros.
      for (const name of gauges) {
        expect(values(after.get(name))).toEqual(values(before.get(name)));
      }
      expect(values(after.get(gauges[0]))['stage=copy']).toBe(4);
      // One read failed, so one warning, not one per gauge.
      expect(logger.warn).toHaveBeenCalledTimes(1);
      expect(logger.warn).toHaveBeenCalledWith(
        expect.stringContaining('Could not read the dataset migration gauges'),
      );
      m.close();
      await knex.destroy();
    },
  );

  it.each(databases.eachSupportedId())(
    'records each item attempt in the counters and the histogram, %p',
    async databaseId => {
      const knex = await migrateLatest(await databases.init(databaseId));
      const { reader, meter } = setupMeter();
      const m = engineMetrics(knex, meter);

      m.itemFinished('copy', 'done', 0.2, 1_000);
      m.itemFinished('copy', 'done', 1.5, 500);
      m.itemFinished('copy', 'retried', 0.1, 999);
      m.itemFinished('copy', 'retried', 0.3);
      m.itemFinished('validate', 'failed', 3, 10);
      m.itemFinished('rollback', 'done', 0.05, 0);

      const c = await collect(reader);
      // Every series is there from the start, zeros included.
      expect(values(c.get('dataset_migration.items.completed'))).toEqual({
        'outcome=done,stage=copy': 2,
        'outcome=failed,stage=copy': 0,
        'outcome=retried,stage=copy': 2,
        'outcome=done,stage=validate': 0,
        'outcome=failed,stage=validate': 1,
        'outcome=retried,stage=validate': 0,
        'outcome=done,stage=rollback': 1,
        'outcome=failed,stage=rollback': 0,
        'outcome=retried,stage=rollback': 0,
      });
      // Only finished items' bytes: a retried attempt's are not kept.
      expect(values(c.get('dataset_migration.bytes.copied'))).toEqual({
        'stage=copy': 1_500,
        'stage=validate': 0, // its failed attempt's 10 bytes do not count
        'stage=rollback': 0,
      });
      expect(c.get('dataset_migration.bytes.copied')?.descriptor.unit).toBe(
        'By',
      );
      expect(values(c.get('dataset_migration.items.retries'))).toEqual({
        'stage=copy': 2,
        'stage=validate': 0,
        'stage=rollback': 0,
      });
      expect(values(c.get('dataset_migration.items.failures'))).toEqual({
        'stage=copy': 0,
        'stage=validate': 1,
        'stage=rollback': 0,
      });

      const duration = c.get('dataset_migration.item.duration')!;
      expect(duration.dataPointType).toBe(DataPointType.HISTOGRAM);
      expect(duration.descriptor.unit).toBe('s');
      const copyDone = duration.dataPoints.find(
        p => p.attributes.stage === 'copy' && p.attributes.outcome === 'done',
      )!.value as Histogram;
      expect(copyDone.count).toBe(2);
      expect(copyDone.sum).toBeCloseTo(1.7);
      // 0.2 s falls in (0.1, 0.25], 1.5 s in (1, 2.5].
      const bucketOf = (s: number) =>
        copyDone.buckets.boundaries.findIndex(b => s <= b);
      expect(copyDone.buckets.counts[bucketOf(0.2)]).toBe(1);
      expect(copyDone.buckets.counts[bucketOf(1.5)]).toBe(1);
      expect(copyDone.buckets.counts.reduce((a, b) => a + b, 0)).toBe(2);
      m.close();
      await knex.destroy();
    },
  );

  it('is wired into the engine on the global meter, and detached on stop', async () => {
    const knex = await migrateLatest(await databases.init('SQLITE_3'));
    const { reader, provider } = setupMeter();
    metrics.setGlobalMeterProvider(provider);
    try {
      const root = await tempRoot();
      const engine = await createTestEngine({
        knex,
        roots: [root],
        workerId: 'me',
        config: { workers: { enabled: false } },
      });
      await seed(knex);

      const running = await collect(reader);
      const depth = running.get('dataset_migration.queue.depth');
      expect(depth?.scope).toBe(`${METER_NAME}@${packageJson.version}`);
      expect(values(depth)).toEqual({
        'stage=copy': 4,
        'stage=validate': 2,
        'stage=rollback': 1,
      });
      expect(values(running.get('dataset_migration.items.in_flight'))).toEqual({
        '': 1,
      });

      // Stopped, the engine reads nothing more on a collection.
      await engine.stop();
      let queries = 0;
      knex.on('query', () => queries++);
      await new WorkItemStore(knex).insertBatch('m-copy', [
        { key: 'late', size: 1 },
      ]);
      queries = 0;
      const stopped = await collect(reader);
      expect(queries).toBe(0);
      expect(
        values(stopped.get('dataset_migration.queue.depth'))['stage=copy'],
      ).toBe(4);
    } finally {
      metrics.disable();
      await knex.destroy();
    }
  });
});

import type { LoggerService } from '@backstage/backend-plugin-api';
import {
  MIGRATION_STATES,
  type MigrationState,
} from '@internal/backstage-plugin-dataset-migration-common';
import {
  metrics,
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type ObservableCallback,
  type ObservableGauge,
} from '@opentelemetry/api';
import packageJson from '../../package.json';
import type { MetricsStore } from '../database/MetricsStore';
import type { MigrationStore } from '../database/MigrationStore';
import type { ItemStage } from '../database/WorkItemStore';

/** The instrumentation scope of every instrument below (`otel_scope_name`). */
export const METER_NAME = 'dataset-migration';

/** How one attempt at an item ended. */
export type ItemOutcome = 'done' | 'failed' | 'retried';

const ITEM_STAGES: ItemStage[] = ['copy', 'validate', 'rollback'];
const ITEM_OUTCOMES: ItemOutcome[] = ['done', 'failed', 'retried'];

/** Where the gauges read their values (the database, see MetricsStore). */
export interface GaugeSources {
  /** Items claimable now, by stage (fleet-wide). */
  queueDepth(): Promise<Record<ItemStage, number>>;
  /** Migrations by state (fleet-wide); missing states are 0. */
  migrationsByState(): Promise<Partial<Record<MigrationState, number>>>;
  /** Items this replica works on. */
  inFlight(): number | Promise<number>;
}

/**
 * The engine's gauges, read from the database: in flight counts the items
 * `workerId` holds, so a replica reports its own and the fleet's is their sum.
 */
export function databaseGaugeSources(
  stores: {
    metrics: MetricsStore;
    migrations: Pick<MigrationStore, 'countByState'>;
  },
  workerId: string,
): GaugeSources {
  return {
    queueDepth: () => stores.metrics.queueDepth(),
    migrationsByState: () => stores.migrations.countByState(),
    inFlight: () => stores.metrics.runningOn(workerId),
  };
}

export interface EngineMetricsOptions {
  sources: GaugeSources;
  /** Defaults to the global meter provider's (a no-op until an SDK is set up). */
  meter?: Meter;
  /** Hears of a failed gauge read. */
  logger?: LoggerService;
  /** How long one read of the gauges is reused; default {@link GAUGE_CACHE_MS}. */
  cacheMs?: number;
  /** The cache's clock (tests). */
  now?: () => number;
}

/**
 * Gauges are read on every scrape of every scraper (Prometheus HA pairs,
 * ad-hoc curls, an HPA adapter): reusing a read for a few seconds caps the
 * database work at one set of COUNT queries per replica per period.
 */
export const GAUGE_CACHE_MS = 5_000;

/**
 * Items take milliseconds (small objects) to many minutes (multi-GB copies
 * and checksums), so the buckets span 5 ms to 1 h.
 */
const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
  600, 1800, 3600,
];

interface GaugeValues {
  queueDepth: Record<ItemStage, number>;
  migrations: Partial<Record<MigrationState, number>>;
  inFlight: number;
}

/**
 * The engine's OpenTelemetry instruments, the way Backstage backends export
 * metrics: instruments on `@opentelemetry/api`, exported by whatever SDK the
 * app's instrumentation file registers (Prometheus in this repo's backend).
 * Counters and the histogram are fed by the item worker through
 * {@link EngineMetrics.itemFinished}; the gauges read the database when
 * collected. docs/fleet.md ("Metrics") lists them.
 */
export class EngineMetrics {
  private readonly completed: Counter;
  private readonly bytes: Counter;
  private readonly duration: Histogram;
  private readonly retries: Counter;
  private readonly failures: Counter;
  private readonly gauges: Array<[ObservableGauge, ObservableCallback]> = [];
  private cached?: {
    at: number;
    values: Promise<GaugeValues | undefined>;
    settled: boolean;
  };
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(private readonly options: EngineMetricsOptions) {
    const meter =
      options.meter ?? metrics.getMeter(METER_NAME, packageJson.version);
    this.cacheMs = options.cacheMs ?? GAUGE_CACHE_MS;
    this.now = options.now ?? Date.now;

    this.completed = meter.createCounter('dataset_migration.items.completed', {
      description:
        'Item attempts that ended, by stage and outcome (done, failed for good, or put back for a retry)',
      unit: '{item}',
    });
    this.bytes = meter.createCounter('dataset_migration.bytes.copied', {
      description:
        'Source bytes of the items a stage finished; bytes per second is its rate',
      unit: 'By',
    });
    this.duration = meter.createHistogram('dataset_migration.item.duration', {
      description: 'How long one attempt at an item took, by stage and outcome',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.retries = meter.createCounter('dataset_migration.items.retries', {
      description: 'Item attempts that failed and were scheduled again',
      unit: '{retry}',
    });
    this.failures = meter.createCounter('dataset_migration.items.failures', {
      description:
        'Items that failed for good (not retryable, or out of attempts)',
      unit: '{item}',
    });

    // Every series exists from the start: `increase()` over a counter that
    // appears with its first failure misses that failure, and an alert on
    // an absent series sees "no data" rather than 0.
    for (const stage of ITEM_STAGES) {
      for (const outcome of ITEM_OUTCOMES) {
        this.completed.add(0, { stage, outcome });
      }
      this.bytes.add(0, { stage });
      this.retries.add(0, { stage });
      this.failures.add(0, { stage });
    }

    this.gauge(
      meter,
      'dataset_migration.queue.depth',
      {
        description:
          'Items any replica could claim now (pending and due, or on an expired lease), by stage; the same on every replica',
        unit: '{item}',
      },
      (v, observe) => {
        for (const [stage, n] of Object.entries(v.queueDepth)) {
          observe(n, { stage });
        }
      },
    );
    this.gauge(
      meter,
      'dataset_migration.items.in_flight',
      { description: 'Items this replica is working on', unit: '{item}' },
      (v, observe) => observe(v.inFlight),
    );
    this.gauge(
      meter,
      'dataset_migration.migrations',
      {
        description: 'Migrations by state; the same on every replica',
        unit: '{migration}',
      },
      (v, observe) => {
        // Every state, zeros included: a series that vanishes is not 0 to
        // an alert or an autoscaler, it is "no data".
        for (const state of MIGRATION_STATES) {
          observe(v.migrations[state] ?? 0, { state });
        }
      },
    );
  }

  /**
   * Records one attempt at an item. `seconds`: how long the attempt took;
   * `bytes`: the item's source bytes, counted only when `outcome` is `done`
   * (a failed attempt wrote nothing that stays).
   */
  itemFinished(
    stage: ItemStage,
    outcome: ItemOutcome,
    seconds: number,
    bytes = 0,
  ): void {
    this.completed.add(1, { stage, outcome });
    this.duration.record(Math.max(0, seconds), { stage, outcome });
    if (outcome === 'retried') this.retries.add(1, { stage });
    if (outcome === 'failed') this.failures.add(1, { stage });
    if (outcome === 'done' && bytes > 0) this.bytes.add(bytes, { stage });
  }

  /** Detaches the gauges, so no collection reads a closed database. */
  close(): void {
    for (const [gauge, callback] of this.gauges.splice(0)) {
      gauge.removeCallback(callback);
    }
  }

  private gauge(
    meter: Meter,
    name: string,
    opts: { description: string; unit: string },
    report: (
      values: GaugeValues,
      observe: (n: number, attributes?: Attributes) => void,
    ) => void,
  ) {
    const gauge = meter.createObservableGauge(name, opts);
    const callback: ObservableCallback = async result => {
      const values = await this.read();
      // A failed read observes nothing rather than a made-up 0; the SDK's
      // cumulative export then repeats the last values it had.
      if (values) report(values, (n, a) => result.observe(n, a));
    };
    gauge.addCallback(callback);
    this.gauges.push([gauge, callback]);
  }

  /**
   * One read of every gauge: the callbacks of one collection share it (they
   * run at once), and later collections reuse it for `cacheMs`.
   */
  private read(): Promise<GaugeValues | undefined> {
    const now = this.now();
    const cached = this.cached;
    if (cached && (!cached.settled || now - cached.at < this.cacheMs)) {
      return cached.values;
    }
    const { sources, logger } = this.options;
    const values = this.readAll(sources).catch(e => {
      logger?.warn(
        `Could not read the dataset migration gauges: ${
          e instanceof Error ? e.message : String(e)
        }`,
      );
      return undefined;
    });
    const entry = { at: now, values, settled: false };
    values.finally(() => {
      entry.settled = true;
    });
    this.cached = entry;
    return values;
  }

  /**
   * Waits for every query, failed or not, so a failed read leaves none
   * running behind it (the next read would overlap it).
   */
  private async readAll(sources: GaugeSources): Promise<GaugeValues> {
    const reads = [
      sources.queueDepth(),
      sources.migrationsByState(),
      Promise.resolve(sources.inFlight()),
    ] as const;
    await Promise.allSettled(reads);
    const [queueDepth, migrations, inFlight] = await Promise.all(reads);
    return { queueDepth, migrations, inFlight };
  }
}

import type { LoggerService } from '@backstage/backend-plugin-api';
import type {
  MigrationPlan,
  VerifyMode,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { ObjectStore } from '@internal/backstage-plugin-dataset-migration-node';
import { EventStore } from '../database/EventStore';
import { FleetStore } from '../database/FleetStore';
import { MigrationRow, MigrationStore } from '../database/MigrationStore';
import { ReportStore } from '../database/ReportStore';
import { WorkItemStore } from '../database/WorkItemStore';
import type { PartStore } from '../database/PartStore';
import { StorageRegistry } from '../storage/StorageRegistry';
import type { TransformRuntime } from '../transform/TransformRuntime';
import type { EngineConfig } from './config';
import type { EngineMetrics } from './metrics';
import type { MetricsStore } from '../database/MetricsStore';
import type { MigrationEngineHooks } from './types';

export interface Stores {
  migrations: MigrationStore;
  items: WorkItemStore;
  /** Parts of large objects copied in parts (partedCopy.ts). */
  parts: PartStore;
  events: EventStore;
  reports: ReportStore;
  fleet: FleetStore;
  /** Grouped counts for the gauges and adaptive concurrency. */
  metrics: MetricsStore;
}

/** Everything the engine's parts share. */
export interface EngineContext {
  stores: Stores;
  registry: StorageRegistry;
  config: EngineConfig;
  logger: LoggerService;
  hooks: MigrationEngineHooks;
  /** The embedded DuckDB of schema-transform migrations (opened lazily). */
  transforms: TransformRuntime;
  workerId: string;
  /** OpenTelemetry instruments; the item worker reports each attempt here. */
  metrics: EngineMetrics;
  /** Throws once the engine was abandoned, so no more DB writes happen. */
  assertAlive(): void;
  signal: AbortSignal;
}

export interface MigrationStores {
  source: ObjectStore;
  target: ObjectStore;
  backups: ObjectStore;
  /** The migration's plan (its transform decides how items are copied). */
  plan?: MigrationPlan;
  /** The request's `options.verify`; undefined: checksum where possible. */
  verify?: VerifyMode;
}

/** Opens (and caches) the stores of a migration. */
export class StoreCache {
  private readonly cache = new Map<string, Promise<MigrationStores>>();

  constructor(
    private readonly registry: StorageRegistry,
    /** Wraps every opened store (the engine adds stall timeouts). */
    private readonly wrap: (store: ObjectStore) => ObjectStore = s => s,
  ) {}

  get(m: MigrationRow): Promise<MigrationStores> {
    let entry = this.cache.get(m.id);
    if (!entry) {
      entry = (async () => ({
        source: this.wrap(await this.registry.open(m.sourceLocation)),
        target: this.wrap(await this.registry.open(m.targetLocation)),
        backups: this.wrap(
          await this.registry.openBackupArea(m.targetLocation, m.id),
        ),
        plan: m.plan,
        verify: m.options.verify,
      }))();
      entry.catch(() => this.cache.delete(m.id));
      this.cache.set(m.id, entry);
    }
    return entry;
  }

  /** Like get(), but reads the migration only when its stores are not open yet. */
  async getById(
    id: string,
    load: () => Promise<MigrationRow | undefined>,
  ): Promise<MigrationStores | undefined> {
    const cached = this.cache.get(id);
    if (cached) return cached;
    const m = await load();
    return m ? this.get(m) : undefined;
  }

  forget(id: string) {
    this.cache.delete(id);
  }
}

export class AbandonedError extends Error {
  name = 'AbandonedError';
}

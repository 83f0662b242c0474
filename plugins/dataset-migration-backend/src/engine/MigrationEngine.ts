import os from 'node:os';
import { randomBytes, randomUUID } from 'node:crypto';
import { InputError, NotFoundError } from '@backstage/errors';
import type { Migration } from '@internal/backstage-plugin-dataset-migration-common';
import { EventStore } from '../database/EventStore';
import { FleetStore } from '../database/FleetStore';
import { MetricsStore } from '../database/MetricsStore';
import { openDatabase } from '../database/openDatabase';
import {
  MigrationRow,
  MigrationStore,
  toMigration,
} from '../database/MigrationStore';
import { RateLimitStore } from '../database/RateLimitStore';
import { ReportStore } from '../database/ReportStore';
import { RetentionStore } from '../database/RetentionStore';
import { WorkItemStore } from '../database/WorkItemStore';
import { PartStore } from '../database/PartStore';
import {
  type ObjectStore,
  guardObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';
import { StorageRegistry } from '../storage/StorageRegistry';
import { readBackupLocations } from '../storage/backupArea';
import { purgeExpiredBackups } from './retention';
import { purgeExpiredData } from './dataRetention';
import type { MigrationService } from '../service/types';
import * as commands from './commands';
import { readEngineConfig } from './config';
import { hashThreads } from './hashThreads';
import { databaseGaugeSources, EngineMetrics } from './metrics';
import { AbandonedError, EngineContext, StoreCache, Stores } from './context';
import { planMigration } from './plan';
import { changeState } from './transitions';
import type { MigrationEngine, MigrationEngineOptions } from './types';
import { WorkerPool } from './workers';
import { StoreRateLimits } from './rateLimitedStore';
import { resolveTransformRequest } from './transformRequest';
import { resolveVerifyMode } from './verifyMode';
import { DataKeyCounter, planTransform } from '../transform/planTransform';
import { TargetKeyCollisions } from '../transform/targetKeyCollisions';
import { TransformRuntime } from '../transform/TransformRuntime';
import { LocationComparator } from '../service/locations';
import { findCutoverMigration } from '../database/effectiveLocation';

/**
 * Creates the durable migration engine: the API-facing service backed by the
 * knex store, plus this replica's workers.
 */
export async function createMigrationEngine(
  options: MigrationEngineOptions,
): Promise<MigrationEngine> {
  const knex = await openDatabase(options.database);
  const config = readEngineConfig(options.config);
  if (config.hashThreads !== undefined)
    hashThreads.configure(config.hashThreads);
  // The API's overlap check again, so no caller of create can skip it.
  const locations = LocationComparator.fromConfig(options.config);
  const stores: Stores = {
    migrations: new MigrationStore(knex),
    items: new WorkItemStore(knex),
    parts: new PartStore(knex),
    events: new EventStore(knex, options.onEvent),
    reports: new ReportStore(knex),
    fleet: new FleetStore(knex),
    metrics: new MetricsStore(knex),
  };
  const retention = new RetentionStore(knex);
  const registry = new StorageRegistry(
    options.backends,
    readBackupLocations(options.config),
  );
  const abort = new AbortController();
  const workerId =
    options.workerId ??
    `${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  // One set of instruments per engine; its gauges are detached on stop.
  const metrics = new EngineMetrics({
    sources: databaseGaugeSources(
      { metrics: stores.metrics, migrations: stores.migrations },
      workerId,
    ),
    logger: options.logger,
  });
  const ctx: EngineContext = {
    stores,
    registry,
    config,
    logger: options.logger,
    hooks: options.hooks ?? {},
    transforms: new TransformRuntime(config.transform),
    workerId,
    metrics,
    signal: abort.signal,
    assertAlive() {
      if (abort.signal.aborted) {
        throw new AbandonedError('The engine was abandoned');
      }
    },
  };
  // Requests to a rate-limited location wait for a token the fleet shares;
  // outside the stall guard, so waiting is not a stall.
  const rateLimits = new StoreRateLimits(
    new RateLimitStore(knex),
    config.rateLimits,
    abort.signal,
  );
  // No store call may hang: a stall becomes a retryable error and an event.
  const guard = (store: ObjectStore) =>
    rateLimits.wrap(
      guardObjectStore(store, {
        idleTimeoutMs: config.timeouts.idleMs,
        operationTimeoutMs: config.timeouts.operationMs,
        copyTimeoutMs: config.timeouts.copyMs,
      }),
    );
  const cache = new StoreCache(registry, guard);
  const transforms = ctx.transforms;
  let pool: WorkerPool | undefined;

  async function view(row: MigrationRow): Promise<Migration> {
    const progress = await stores.items.progress([row.id]);
    return toMigration(row, progress.get(row.id)!);
  }

  async function current(id: string): Promise<Migration> {
    const row = await stores.migrations.get(id);
    if (!row) throw new NotFoundError(`Migration '${id}' does not exist`);
    return view(row);
  }

  const service: MigrationService = {
    async create(request, dataset, actor) {
      const transform =
        request.strategy === 'schema-transform'
          ? resolveTransformRequest(request, dataset)
          : undefined;
      const verify = resolveVerifyMode(request, config.validation);
      const targetUri = request.target.location;
      const source = guard(await registry.open(dataset.location));
      const target = guard(await registry.open(targetUri));
      if (locations.relate(source.location, target.location) !== 'disjoint') {
        throw new InputError(
          `Target ${target.location.uri} overlaps the source ${source.location.uri}; choose a location outside it`,
        );
      }
      const id = randomUUID();
      // Refuses, before anything is planned, a target whose backup area
      // would overlap it (a whole bucket or root without a separate area).
      await registry.openBackupArea(target.location.uri, id);
      const targetFormat =
        transform?.targetFormat ?? request.target.format ?? dataset.format;
      const dataKeys =
        transform &&
        new DataKeyCounter(transform.sourceFormat, config.transform.partBytes);
      const collisions =
        transform &&
        new TargetKeyCollisions(
          transform.sourceFormat,
          transform.targetFormat,
          transform.targetKey,
        );
      const plan = await planMigration({
        source,
        target,
        consumers: dataset.consumers,
        targetFormat,
        concurrency: config.concurrency,
        probeTimeoutMs: config.timeouts.preflightMs,
        targetKeyOf: transform?.targetKey,
        onObject:
          dataKeys &&
          (o => {
            dataKeys.add(o.key, o.size);
            collisions?.add(o.key);
          }),
      });
      const collision = await collisions?.confirmedProblem(source);
      if (collision) throw collision;
      if (verify === 'none') {
        plan.warnings.push(
          "Validation will compare sizes only (options.verify 'none'): an object changed to other bytes of the same size would go unnoticed.",
        );
      }
      if (transform && dataKeys) {
        plan.transform = await planTransform({
          db: await transforms.instance(),
          source,
          objects: dataKeys,
          sourceFormat: transform.sourceFormat,
          mapping: transform.mapping,
          mappingSource: transform.mappingSource,
          declaredColumns: transform.declaredColumns,
          spillDirectory: transforms.spillBase,
        });
        const { copied } = plan.transform.objects;
        if (copied > 0) {
          plan.warnings.push(
            `${copied} object(s) are not ${transform.sourceFormat} and will be copied as they are.`,
          );
        }
      }
      const now = Date.now();
      const row: MigrationRow = {
        id,
        dataset: dataset.ref,
        sourceLocation: source.location.uri,
        sourceFormat: dataset.format,
        targetLocation: target.location.uri,
        targetFormat,
        strategy: request.strategy,
        options: { concurrency: request.options?.concurrency, verify },
        state: 'planned',
        plan,
        createdBy: actor.ref,
        datasetOwner: dataset.owner,
        createdAt: now,
        updatedAt: now,
      };
      await stores.migrations.insert(row);
      await stores.events.append({
        migrationId: row.id,
        type: 'created',
        message: `Planned migration of ${dataset.ref} from ${row.sourceLocation} to ${row.targetLocation}: ${plan.source.objectCount} objects, ${plan.source.totalBytes} bytes, ${plan.overwrites.count} overwrite(s)`,
        actor: actor.ref,
        details: { plan },
      });
      await changeState(stores, row.id, ['planned'], 'awaiting-approval', {
        actor: actor.ref,
      });
      const auto = config.autoApprove && request.options?.autoApprove !== false;
      if (auto) {
        await changeState(stores, row.id, ['awaiting-approval'], 'queued', {
          actor: actor.ref,
          details: { approved: true, autoApprove: true },
        });
        pool?.nudge();
      }
      return current(row.id);
    },

    async get(id) {
      const row = await stores.migrations.get(id);
      return row ? view(row) : undefined;
    },

    async list(filter) {
      const { rows, totalCount } = await stores.migrations.list(filter);
      const progress = await stores.items.progress(rows.map(r => r.id));
      return {
        items: rows.map(r => toMigration(r, progress.get(r.id)!)),
        totalCount,
      };
    },

    async approve(id, actor, reason) {
      await commands.approve(ctx, cache, id, actor, reason);
      pool?.nudge();
      return current(id);
    },
    async cancel(id, actor, reason) {
      await commands.cancel(ctx, id, actor, reason);
      pool?.nudge();
      return current(id);
    },
    async rollback(id, actor, reason) {
      await commands.rollback(ctx, id, actor, reason);
      pool?.nudge();
      return current(id);
    },
    async retry(id, actor, reason) {
      await commands.retry(ctx, id, actor, reason);
      pool?.nudge();
      return current(id);
    },

    async listDatasets(filter) {
      return stores.migrations.listDatasets(filter);
    },
    async listEvents(id, opts) {
      if (!(await stores.migrations.get(id))) {
        throw new NotFoundError(`Migration '${id}' does not exist`);
      }
      return stores.events.list(id, opts);
    },

    async getReport(id) {
      return stores.reports.get(id);
    },

    async getFleetStatus() {
      const fleet = await stores.fleet.status(config.leaseMs * 2);
      return { ...fleet, migrations: await stores.migrations.countByState() };
    },

    async getEffectiveLocation(datasetRef) {
      return stores.migrations.effectiveLocation(datasetRef);
    },

    async findCutover(datasetRef, location) {
      return findCutoverMigration(knex, datasetRef, location);
    },
  };

  return {
    ...service,
    purgeExpiredBackups: (now?: number) =>
      purgeExpiredBackups(ctx, cache, now ?? Date.now()),
    backupPurgeFrequencyMs: config.backups.purgeFrequencyMs,
    purgeExpiredData: (now?: number, signal?: AbortSignal) =>
      purgeExpiredData(ctx, retention, now ?? Date.now(), signal),
    dataPurgeFrequencyMs:
      config.retention.dataAgeMs === undefined
        ? undefined
        : config.retention.frequencyMs,
    async start() {
      if (!config.workersEnabled || abort.signal.aborted) return;
      pool ??= new WorkerPool(ctx, cache);
      pool.start();
    },
    async stop(opts) {
      metrics.close();
      if (opts?.abandon) {
        abort.abort();
        await pool?.stop(true);
        return;
      }
      await pool?.stop(false);
      pool = undefined;
      await transforms.close();
    },
  };
}

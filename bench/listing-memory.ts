/*
 * Benchmark (not a test), issue 10: the plan's and the snapshot's listing of
 * a 1,000,000-object source run in flat memory.
 *
 *   bench/run-listing-memory.sh [--objects 1000000] [--cases a,b,c]
 *
 * A synthetic source lists N objects (~61-character keys, made as they are
 * asked for, like a paginated S3 listing); the target is empty. Every case
 * runs in its own child process (a fresh heap, and VmHWM for that case
 * alone) and measures live JS memory — V8 heap + ArrayBuffers after a full
 * GC (`--expose-gc`) — when 100k, 250k, 500k, 750k and all objects have
 * been listed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
/* eslint-disable @backstage/no-relative-monorepo-imports */
import { planMigration } from '../plugins/dataset-migration-backend/src/engine/plan';
import { takeSnapshot } from '../plugins/dataset-migration-backend/src/engine/snapshot';
import type {
  EngineContext,
  StoreCache,
} from '../plugins/dataset-migration-backend/src/engine/context';
import {
  LiveMemory,
  syntheticStore,
} from '../plugins/dataset-migration-backend/src/engine/__testUtils__/syntheticListing';
import {
  DataKeyCounter,
  TargetKeyCollisions,
  isDataKey,
  targetKeyOf,
} from '../plugins/dataset-migration-backend/src/transform/planTransform';
import { openDatabase } from '../plugins/dataset-migration-backend/src/database/openDatabase';
import { MigrationStore } from '../plugins/dataset-migration-backend/src/database/MigrationStore';
import { WorkItemStore } from '../plugins/dataset-migration-backend/src/database/WorkItemStore';
import { migrationRow } from '../plugins/dataset-migration-backend/src/database/__testUtils__/fixtures';
/* eslint-enable @backstage/no-relative-monorepo-imports */

const CASES = {
  'plan-copy': 'planMigration, bulk copy',
  'plan-transform':
    'planMigration + DataKeyCounter + TargetKeyCollisions (CSV → Parquet), as create does',
  'plan-transform-map':
    'the same with the collision check before issue 10 (a Map of every target key → source key)',
  'snapshot-sqlite':
    'takeSnapshot: listing + insertBatch per page of 500 into a SQLite file (WAL)',
} as const;
type CaseName = keyof typeof CASES;

interface Result {
  name: CaseName;
  objects: number;
  seconds: number;
  /** CPU seconds of the process (all threads) over the same span. */
  cpuSeconds: number;
  /** Listed objects → live MiB. */
  live: Array<[number, number]>;
  vmHwmMiB: number;
  extra?: string;
}

function vmHwmMiB(): number {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

const landsOn = (key: string) =>
  isDataKey(key, 'csv') ? targetKeyOf(key, 'csv', 'parquet') : key;

/** The pre-issue-10 collision check, for comparison. */
class MapCollisions {
  private readonly seen = new Map<string, string>();
  count = 0;
  add(key: string) {
    if (!isDataKey(key, 'csv') && !isDataKey(key, 'parquet')) return;
    const t = landsOn(key);
    if (this.seen.has(t)) this.count += 1;
    else this.seen.set(t, key);
  }
}

async function runCase(name: CaseName, objects: number): Promise<Result> {
  const memory = new LiveMemory();
  if (!memory.collects) throw new Error('Run with --expose-gc');
  const at = [100_000, 250_000, 500_000, 750_000].filter(n => n < objects);
  const live: Array<[number, number]> = [];
  const source = syntheticStore({
    count: objects,
    at,
    onListed: n => live.push([n, memory.measure()]),
  });
  const target = syntheticStore({ count: 0, uri: 's3://synthetic/target' });
  live.push([0, memory.measure()]);
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  let extra: string | undefined;
  if (name === 'snapshot-sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-listing-'));
    const knex = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: path.join(dir, 'db.sqlite') },
      useNullAsDefault: true,
    });
    try {
      await openDatabase({ getClient: async () => knex } as any);
      const migrations = new MigrationStore(knex);
      const m = migrationRow('m1', { plan: undefined });
      await migrations.insert(m);
      const ctx = {
        stores: { items: new WorkItemStore(knex), migrations },
        workerId: 'bench',
        config: { leaseMs: 60_000 },
        assertAlive() {},
      } as unknown as EngineContext;
      const cache = { get: async () => ({ source }) } as unknown as StoreCache;
      const snapshot = await takeSnapshot(ctx, cache, m);
      const [{ n }] = await knex('dm_work_items').count({ n: '*' });
      extra = `${snapshot.count} listed, ${n} rows, database ${(
        fs.statSync(path.join(dir, 'db.sqlite')).size /
        1024 /
        1024
      ).toFixed(0)} MiB`;
    } finally {
      await knex.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } else {
    const transform = name !== 'plan-copy';
    const dataKeys = new DataKeyCounter('csv');
    const collisions =
      name === 'plan-transform-map'
        ? new MapCollisions()
        : new TargetKeyCollisions('csv', 'parquet', landsOn);
    const plan = await planMigration({
      source,
      target,
      consumers: [],
      concurrency: 8,
      targetKeyOf: transform ? landsOn : undefined,
      onObject: transform
        ? o => {
            dataKeys.add(o.key);
            collisions.add(o.key);
          }
        : undefined,
    });
    extra = `${plan.source.objectCount} listed`;
    if (transform) {
      extra += `, ${dataKeys.data} data keys, ${collisions.count} collisions`;
      if (collisions instanceof TargetKeyCollisions) {
        extra += `, collision table ${(
          collisions.tableBytes /
          1024 /
          1024
        ).toFixed(1)} MiB`;
      }
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const { user, system } = process.cpuUsage(cpu);
  const cpuSeconds = (user + system) / 1e6;
  return {
    name,
    objects,
    seconds,
    cpuSeconds,
    live,
    vmHwmMiB: vmHwmMiB(),
    extra,
  };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main() {
  const objects = Number(arg('objects') ?? 1_000_000);
  const only = arg('case') as CaseName | undefined;
  if (only) {
    const result = await runCase(only, objects);
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    return;
  }
  const names = (arg('cases')?.split(',') ?? Object.keys(CASES)) as CaseName[];
  console.log(
    `${objects.toLocaleString('en')} objects, load average ${os
      .loadavg()
      .map(l => l.toFixed(1))
      .join(' ')}`,
  );
  for (const name of names) {
    const child = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        ...process.execArgv,
        __filename,
        '--case',
        name,
        '--objects',
        String(objects),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const line = child.stdout.split('\n').find(l => l.startsWith('RESULT '));
    if (!line) throw new Error(`${name} failed (exit ${child.status})`);
    const r = JSON.parse(line.slice(7)) as Result;
    const base = r.live.find(([n]) => n === 100_000)?.[1] ?? r.live[0][1];
    const end = r.live[r.live.length - 1][1];
    console.log(`\n${name}: ${CASES[name]}`);
    console.log(
      `  live MiB: ${r.live
        .map(([n, mib]) => `${n / 1000}k ${mib.toFixed(1)}`)
        .join(' · ')}`,
    );
    console.log(
      `  growth 100k → ${r.objects / 1000}k: ${(end - base).toFixed(1)} MiB (${(
        ((end - base) * 1024 * 1024) /
        (r.objects - 100_000)
      ).toFixed(1)} bytes/object) · ${r.seconds.toFixed(
        1,
      )} s, CPU ${r.cpuSeconds.toFixed(1)} s (${Math.round(
        r.objects / r.seconds,
      ).toLocaleString('en')} objects/s) · VmHWM ${r.vmHwmMiB.toFixed(0)} MiB`,
    );
    if (r.extra) console.log(`  ${r.extra}`);
  }
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});

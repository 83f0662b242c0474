/* eslint-disable no-console */
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Knex } from 'knex';
import { mockCredentials } from '@backstage/backend-test-utils';
import type { FleetStatus } from '@internal/backstage-plugin-dataset-migration-common';
import {
  actor,
  createTestEngine,
  dataset,
  hashTree,
  tempRoot,
  writeFile,
} from '../engine/__testUtils__/harness';
import type { MigrationEngine } from '../engine/types';
import {
  allReplicas,
  createFleetDatabase,
  Replica,
  startReplica,
} from './__testUtils__/fleet';

/**
 * Three real backend processes share one PostgreSQL database and run three
 * migrations of 1,000 objects at once; replicas are SIGKILLed mid-copy,
 * mid-validate and then all at once. Leases are 2 s, so a dead replica's
 * work is taken over within a few seconds.
 */
const base = process.env.BACKSTAGE_TEST_DATABASE_POSTGRES16_CONNECTION_STRING;
const describeIfPg = base ? describe : describe.skip;

const MIGRATIONS = 3;
const OBJECTS = 1000;
const LEASE_SECONDS = 2;

jest.setTimeout(170_000);

describeIfPg('fleet of replica processes on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createFleetDatabase>>;
  let knex: Knex;
  let root: string;
  let control: MigrationEngine;

  beforeAll(async () => {
    db = await createFleetDatabase(base!);
    knex = db.knex;
    root = await tempRoot();
  });

  afterAll(async () => {
    await Promise.allSettled(allReplicas.map(r => r.kill()));
    await control?.stop().catch(() => {});
    await db?.drop().catch(e => console.warn(`drop failed: ${e}`));
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  const replicaConfig = () => ({
    backend: { baseUrl: 'http://localhost', listen: { port: 0 } },
    datasetMigration: {
      autoApprove: false,
      workers: {
        concurrency: 4,
        leaseSeconds: LEASE_SECONDS,
        pollIntervalMs: 100,
      },
      retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 40 },
      storage: { local: { roots: [root] } },
    },
  });

  const start = () =>
    startReplica({ connection: db.connection, config: replicaConfig() });

  /** Items and driver leases a replica (by pid) still holds. */
  async function heldBy(pid: number) {
    const owner = `%-${pid}-%`;
    const [{ n: items }] = await knex('dm_work_items')
      .where('state', 'running')
      .where('lease_owner', 'like', owner)
      .count({ n: '*' });
    const [{ n: drivers }] = await knex('dm_migrations')
      .where('driver_owner', 'like', owner)
      .count({ n: '*' });
    return Number(items) + Number(drivers);
  }

  /** The live replica holding the most running items of `stage`. */
  async function busiest(replicas: Replica[], stage: string) {
    const rows = (await knex('dm_work_items')
      .where({ stage, state: 'running' })
      .groupBy('lease_owner')
      .select('lease_owner')
      .count({ n: '*' })
      .orderBy('n', 'desc')) as Array<{ lease_owner: string; n: string }>;
    for (const row of rows) {
      const r = replicas.find(
        x => !x.exited && row.lease_owner?.includes(`-${x.pid}-`),
      );
      if (r) return r;
    }
    return undefined;
  }

  async function waitFor<T>(
    what: string,
    fn: () => Promise<T | undefined | false>,
    timeoutMs = 60_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`Timed out: ${what}`);
      await new Promise(r => setTimeout(r, 25));
    }
  }

  async function stageDone(stage: string) {
    const [{ n }] = await knex('dm_work_items')
      .where({ stage, state: 'done' })
      .count({ n: '*' });
    return Number(n);
  }

  /** Kills `victim` and measures until its leases were all taken over. */
  async function killAndRecover(victims: Replica[], label: string) {
    const killedAt = Date.now();
    await Promise.all(victims.map(v => v.kill()));
    const held = await Promise.all(victims.map(v => heldBy(v.pid)));
    return {
      label,
      killedAt,
      held: held.reduce((a, b) => a + b, 0),
      pids: victims.map(v => v.pid),
      async recovered() {
        await waitFor(
          `${label}: leases of the killed replicas taken over`,
          async () => {
            for (const v of victims)
              if ((await heldBy(v.pid)) > 0) return false;
            return true;
          },
        );
        return Date.now() - killedAt;
      },
    };
  }

  /** Replicas started in place of idle ones killed by killMid. */
  const restarts: Array<Promise<unknown>> = [];

  /**
   * SIGKILLs the replica holding the most items of `stage`. Small objects
   * take milliseconds, so the victim may have finished its items between
   * the query and the signal: then it is replaced and another one is tried.
   */
  async function killMid(replicas: Replica[], stage: string) {
    for (let attempt = 1; ; attempt++) {
      const victim = await waitFor(`a replica in ${stage}`, () =>
        busiest(replicas, stage),
      );
      const kill = await killAndRecover([victim], `mid-${stage}`);
      const [{ n }] = await knex('dm_work_items')
        .where({ stage, state: 'running' })
        .where('lease_owner', 'like', `%-${victim.pid}-%`)
        .count({ n: '*' });
      if (Number(n) > 0) return kill;
      if (attempt === 5)
        throw new Error(`Could not kill a replica mid-${stage}`);
      console.log(`fleet: replica ${victim.pid} was idle when killed; again`);
      // Replaced in the background: small objects are validated in a second
      // or two, over before a new process is up, so the others are tried
      // at once.
      restarts.push(start().then(r => replicas.push(r)));
    }
  }

  it('survives SIGKILLs mid-copy, mid-validate and of every replica', async () => {
    const t0 = Date.now();
    control = await createTestEngine({
      knex,
      roots: [root],
      config: {
        workers: { enabled: false, leaseSeconds: LEASE_SECONDS },
      },
    });

    // The schema exists (the control engine migrated it): start the fleet
    // while the sources are written.
    const starting = Promise.all([start(), start(), start()]);
    const ids: string[] = [];
    for (let m = 0; m < MIGRATIONS; m++) {
      const src = path.join(root, `m${m}`, 'src');
      await Promise.all(
        Array.from({ length: OBJECTS }, (_, i) =>
          writeFile(
            src,
            `part=${i % 10}/obj-${i}.bin`,
            randomBytes((i * 7919) % 4096),
          ),
        ),
      );
      const created = await control.create(
        {
          dataset: 'resource:default/plays',
          target: { location: `file://${path.join(root, `m${m}`, 'dst')}` },
          strategy: 'bulk-copy',
        },
        dataset(`file://${src}`),
        actor,
      );
      ids.push(created.id);
    }

    const replicas = await starting;
    console.log(`fleet: set-up took ${Date.now() - t0} ms`);
    const t1 = Date.now();
    // The last migration is approved only before the kill of every
    // replica: small objects go fast, and the others may all be done by then.
    const last = ids[ids.length - 1];
    for (const id of ids.slice(0, -1)) await control.approve(id, actor);

    // 1. One replica dies mid-copy.
    await waitFor(
      'copy under way',
      async () => (await stageDone('copy')) >= 150,
    );
    const copyKill = await killMid(replicas, 'copy');
    const copyRecovery = await copyKill.recovered();
    console.log(`fleet: mid-copy kill at +${copyKill.killedAt - t1} ms`);
    // Its supervisor restarts it; the fleet goes on meanwhile.
    const replacement = start().then(r => {
      replicas.push(r);
      return r;
    });

    // 2. Another dies mid-validate.
    await waitFor(
      'validation under way',
      async () => (await stageDone('validate')) >= 100,
      90_000,
    );
    const validateKill = await killMid(replicas, 'validate');
    const validateRecovery = await validateKill.recovered();
    console.log(
      `fleet: mid-validate kill at +${validateKill.killedAt - t1} ms`,
    );
    await replacement;

    // 3. Every replica dies at once while work is left; all restart.
    await Promise.all(restarts);
    await control.approve(last, actor);
    const unfinished = await knex('dm_migrations')
      .whereNotIn('state', ['succeeded'])
      .count({ n: '*' });
    expect(Number(unfinished[0].n)).toBeGreaterThan(0);
    const [{ n: left }] = await knex('dm_work_items')
      .whereRaw("not (stage = 'validate' and state = 'done')")
      .count({ n: '*' });
    console.log(
      `fleet: killing every replica at +${
        Date.now() - t1
      } ms, ${left} items left`,
    );
    const live = replicas.filter(r => !r.exited);
    await waitFor('the live replicas holding work', async () => {
      const held = await Promise.all(live.map(r => heldBy(r.pid)));
      return held.some(n => n > 0);
    });
    const allKill = await killAndRecover(
      replicas.filter(r => !r.exited),
      'all at once',
    );
    const restarted = await Promise.all([start(), start(), start()]);
    const readyAfter = Date.now() - allKill.killedAt;
    const allRecovery = await allKill.recovered();

    const finals = await waitFor(
      'every migration final',
      async () => {
        const rows = await knex('dm_migrations').whereIn('id', ids);
        return rows.every(r =>
          ['succeeded', 'failed', 'rolled-back', 'cancelled'].includes(r.state),
        )
          ? rows
          : undefined;
      },
      90_000,
    );
    const total = Date.now() - t1;
    for (const r of finals)
      expect([r.id, r.state, r.reason]).toEqual([r.id, 'succeeded', null]);

    // Every target is byte-equal to its source.
    for (let m = 0; m < MIGRATIONS; m++) {
      const src = await hashTree(path.join(root, `m${m}`, 'src'));
      expect(Object.keys(src)).toHaveLength(OBJECTS);
      expect(
        await hashTree(path.join(root, `m${m}`, 'dst'), { skipBackups: true }),
      ).toEqual(src);
    }

    // Every work item is done exactly once in its final stage: one row per
    // object, all done in the validate stage, none failed or retried.
    const items: Array<{
      migration_id: string;
      stage: string;
      state: string;
      n: string;
    }> = await knex('dm_work_items')
      .whereIn('migration_id', ids)
      .groupBy('migration_id', 'stage', 'state')
      .select('migration_id', 'stage', 'state')
      .count({ n: '*' });
    expect(
      items.map(r => [r.migration_id, r.stage, r.state, Number(r.n)]).sort(),
    ).toEqual(ids.map(id => [id, 'validate', 'done', OBJECTS]).sort());
    const [{ n: distinct }] = await knex('dm_work_items')
      .whereIn('migration_id', ids)
      .countDistinct({ n: knex.raw(`migration_id || '|' || key`) });
    expect(Number(distinct)).toBe(MIGRATIONS * OBJECTS);

    // The events name every take-over: from the killed replica to another.
    const events = await knex('dm_events')
      .whereIn('migration_id', ids)
      .whereIn('type', ['lease-reclaimed', 'driver-reclaimed', 'item-failed'])
      .orderBy('id');
    expect(events.filter(e => e.type === 'item-failed')).toEqual([]);
    const reclaims = events.map(e => ({
      type: e.type,
      ...JSON.parse(e.details),
      at: Number(e.created_at),
    }));
    const from = (pids: number[], stage?: string) =>
      reclaims.filter(
        r =>
          pids.some(p => String(r.from).includes(`-${p}-`)) &&
          (!stage || r.stage === stage),
      );
    expect(from(copyKill.pids, 'copy').length).toBeGreaterThan(0);
    expect(from(validateKill.pids, 'validate').length).toBeGreaterThan(0);
    expect(from(allKill.pids).length).toBeGreaterThan(0);
    for (const r of reclaims) expect(r.to).not.toBe(r.from);
    const worst = (pids: number[], field: string) =>
      Math.max(0, ...from(pids).map(r => Number(r[field])));

    // No item is taken over more often than replicas were killed.
    const perKey = new Map<string, number>();
    for (const r of reclaims.filter(x => x.type === 'lease-reclaimed')) {
      const k = `${r.stage}|${r.key}`;
      perKey.set(k, (perKey.get(k) ?? 0) + 1);
    }
    expect(Math.max(0, ...perKey.values())).toBeLessThanOrEqual(3);

    console.log(
      [
        `fleet: ${MIGRATIONS} migrations x ${OBJECTS} objects, lease ${LEASE_SECONDS} s, finished in ${total} ms`,
        `  mid-copy kill: ${
          copyKill.held
        } leases held, all taken over after ${copyRecovery} ms (${
          from(copyKill.pids).length
        } reclaim events; expired for ≤ ${worst(
          copyKill.pids,
          'expiredForMs',
        )} ms, victim silent ≤ ${worst(copyKill.pids, 'fromSilentForMs')} ms)`,
        `  mid-validate kill: ${
          validateKill.held
        } leases held, all taken over after ${validateRecovery} ms (${
          from(validateKill.pids).length
        } reclaim events; expired for ≤ ${worst(
          validateKill.pids,
          'expiredForMs',
        )} ms, victim silent ≤ ${worst(
          validateKill.pids,
          'fromSilentForMs',
        )} ms)`,
        `  kill all ${allKill.pids.length} + restart: ${
          allKill.held
        } leases held, all taken over after ${allRecovery} ms, replicas were back after ${readyAfter} ms (${
          from(allKill.pids).length
        } reclaim events; expired for ≤ ${worst(
          allKill.pids,
          'expiredForMs',
        )} ms, victims silent ≤ ${worst(allKill.pids, 'fromSilentForMs')} ms)`,
      ].join('\n'),
    );
    // Every take-over says how long recovery took, on the database's clock
    // (the test's clock is the same machine's): how long the lease had sat
    // expired, and when the previous owner was last seen.
    for (const r of reclaims) {
      expect(typeof r.expiredForMs).toBe('number');
      expect(r.expiredForMs).toBeGreaterThanOrEqual(0);
      expect(r.expiredForMs).toBeLessThan(30_000);
      expect(Number.isNaN(Date.parse(r.leaseExpiredAt))).toBe(false);
      // Every replica heartbeats dm_workers each poll, so it has a row.
      expect(typeof r.fromSilentForMs).toBe('number');
      expect(r.fromSilentForMs).toBeGreaterThanOrEqual(r.expiredForMs);
    }
    const kills = [
      { kill: copyKill, recovery: copyRecovery },
      { kill: validateKill, recovery: validateRecovery },
      { kill: allKill, recovery: allRecovery },
    ];
    for (const { kill, recovery } of kills) {
      for (const r of from(kill.pids)) {
        // The victim's leases were live when it was killed (heart-beaten
        // every lease / 3), so each expired within one lease after the
        // kill, and was taken over before the test saw the last of them
        // gone: its expiredForMs is within the measured recovery.
        expect(Date.parse(r.leaseExpiredAt)).toBeLessThanOrEqual(
          kill.killedAt + LEASE_SECONDS * 1000 + 1_000,
        );
        expect(r.expiredForMs).toBeLessThanOrEqual(recovery + 2_000);
        expect(r.fromSilentForMs).toBeLessThanOrEqual(recovery + 5_000);
      }
    }

    // GET /fleet of a live replica lists the killed ones as gone.
    const res = await fetch(`${restarted[0].url}/api/dataset-migration/fleet`, {
      headers: { Authorization: mockCredentials.user.header() },
    });
    expect(res.status).toBe(200);
    const fleet: FleetStatus = await res.json();
    const stateOf = (pid: number) =>
      fleet.workers.find(w => w.id.includes(`-${pid}-`))?.state;
    for (const pid of [...copyKill.pids, ...validateKill.pids, ...allKill.pids])
      expect([pid, stateOf(pid)]).toEqual([pid, 'gone']);
    for (const r of restarted)
      expect([r.pid, stateOf(r.pid)]).toEqual([r.pid, 'active']);
    await Promise.all(restarted.map(r => r.stop()));
  });
});

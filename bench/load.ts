/* eslint-disable no-console */
/*
 * Benchmark (not a test): load. Queues N small local-filesystem migrations
 * through the REST API of R real backend replicas sharing one fresh
 * PostgreSQL database, waits until every one has succeeded, and prints total
 * time, time to queue, migrations/minute, API latency (creates, approvals and
 * reads sampled during the run), peak RSS per replica, database size and row
 * counts afterwards, and the statements the replicas ran.
 *
 *   bench/run-load.sh [--migrations 5000] [--objects-per-dataset 3]
 *       [--replicas 2] [--client-concurrency 16] [--concurrency 8]
 *       [--poll-ms 100] [--object-bytes 1024] [--timeout-min 30]
 *       [--auto-approve] [--spot-check 50] [--keep]
 *
 * Environment: BENCH_PG (default postgres://postgres@127.0.0.1:5432/postgres),
 * the admin connection the fresh database `dm_load_<random>` is created from
 * (and dropped again at the end).
 */
import { spawn, ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import knexFactory from 'knex';
import { mockCredentials } from '@backstage/backend-test-utils';

const NODE = process.execPath;
const TS = ['-r', require.resolve('@backstage/cli/config/nodeTransform.cjs')];
const API = '/api/dataset-migration';
const AUTH = mockCredentials.user.header();

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const flag = (name: string) => argv.includes(`--${name}`);
const N = Number(opt('migrations', '5000'));
const K = Number(opt('objects-per-dataset', '3'));
const R = Number(opt('replicas', '2'));
const CLIENTS = Number(opt('client-concurrency', '16'));
const CONCURRENCY = Number(opt('concurrency', '8'));
const POLL_MS = Number(opt('poll-ms', '100'));
const OBJECT_BYTES = Number(opt('object-bytes', '1024'));
const TIMEOUT_MS = Number(opt('timeout-min', '30')) * 60_000;
const AUTO_APPROVE = flag('auto-approve');
const SPOT = Number(opt('spot-check', '50'));
const KEEP = flag('keep');
const ADMIN =
  process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TERMINAL_BAD = ['failed', 'rolled-back', 'cancelled', 'rolling-back'];

const log = (s: string) => process.stdout.write(`${s}\n`);
const load = () =>
  os
    .loadavg()
    .map(l => l.toFixed(2))
    .join(' ');
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
const pad = (i: number) => String(i).padStart(5, '0');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------- latency

class Latencies {
  private readonly samples = new Map<string, number[]>();
  private readonly errors = new Map<string, number>();
  add(kind: string, ms: number, ok: boolean) {
    let a = this.samples.get(kind);
    if (!a) this.samples.set(kind, (a = []));
    a.push(ms);
    if (!ok) this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
  }
  report() {
    const q = (a: number[], p: number) =>
      a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))];
    const out: string[] = [
      `  ${'request'.padEnd(22)} ${'n'.padStart(6)} ${'errors'.padStart(
        6,
      )} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(
        8,
      )} ${'max ms'.padStart(8)}`,
    ];
    const json: Record<string, object> = {};
    for (const [kind, raw] of this.samples) {
      const a = [...raw].sort((x, y) => x - y);
      const row = {
        n: a.length,
        errors: this.errors.get(kind) ?? 0,
        p50: q(a, 50),
        p95: q(a, 95),
        p99: q(a, 99),
        max: a[a.length - 1],
      };
      json[kind] = row;
      out.push(
        `  ${kind.padEnd(22)} ${String(row.n).padStart(6)} ${String(
          row.errors,
        ).padStart(6)} ${row.p50.toFixed(1).padStart(8)} ${row.p95
          .toFixed(1)
          .padStart(8)} ${row.p99.toFixed(1).padStart(8)} ${row.max
          .toFixed(1)
          .padStart(8)}`,
      );
    }
    return { text: out.join('\n'), json };
  }
}
const lat = new Latencies();

async function api(
  kind: string | undefined,
  url: string,
  method: string,
  body?: object,
) {
  const t = performance.now();
  let status = 0;
  let json: any;
  try {
    const res = await fetch(url, {
      method,
      headers: { Authorization: AUTH, 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    status = res.status;
    const text = await res.text();
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
  } catch (e) {
    json = String(e);
  }
  if (kind) lat.add(kind, performance.now() - t, status >= 200 && status < 300);
  return { status, body: json };
}

// ---------------------------------------------------------------- replicas

interface Replica {
  child: ChildProcess;
  url: string;
  peakRssMiB: number;
  stderrTail(): string;
  warnings: number;
  command(cmd: string, answer: string): Promise<string>;
  stop(): Promise<void>;
}

function rssMiB(pid: number) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(s)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

async function startReplica(optionsFile: string): Promise<Replica> {
  const child = spawn(
    NODE,
    [...TS, path.join(__dirname, 'load-replica.ts'), optionsFile],
    {
      env: { ...process.env, NODE_ENV: 'test' },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  const replica = {
    child,
    url: '',
    peakRssMiB: 0,
    warnings: 0,
    stderrTail: () => stderr,
  } as Replica;
  child.stderr!.on('data', d => {
    stderr = (stderr + d).slice(-8000);
  });
  const lines = readline.createInterface({ input: child.stdout! });
  const waiters: Array<(l: string) => boolean> = [];
  lines.on('line', l => {
    if (/\bwarn\b|\berror\b/i.test(l)) {
      replica.warnings++;
      if (replica.warnings <= 5)
        log(`   [replica ${child.pid}] ${l.slice(0, 400)}`);
    }
    const i = waiters.findIndex(w => w(l));
    if (i >= 0) waiters.splice(i, 1);
  });
  const next = (prefix: string) =>
    new Promise<string>((resolve, reject) => {
      waiters.push(l => {
        if (!l.startsWith(prefix)) return false;
        resolve(l.slice(prefix.length).trim());
        return true;
      });
      child.once('exit', code =>
        reject(new Error(`replica exited with ${code}: ${stderr}`)),
      );
    });
  const port = Number((await next('REPLICA_READY')).split(' ')[0]);
  replica.url = `http://127.0.0.1:${port}${API}`;
  replica.command = (cmd, answer) => {
    const p = next(answer);
    child.stdin!.write(`${cmd}\n`);
    return p;
  };
  replica.stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise(r => child.once('exit', r));
    child.stdin!.write('STOP\n');
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(t);
  };
  return replica;
}

// ---------------------------------------------------------------- data

function generate(root: string) {
  const src = path.join(root, 'src');
  for (let i = 0; i < N; i++) {
    const dir = path.join(src, `ds-${pad(i)}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let k = 0; k < K; k++) {
      fs.writeFileSync(
        path.join(dir, `part-${k}.bin`),
        randomBytes(OBJECT_BYTES),
      );
    }
  }
  fs.mkdirSync(path.join(root, 'dst'), { recursive: true });
}

function entities(root: string) {
  return Array.from({ length: N }, (_, i) => ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Resource',
    metadata: {
      name: `load-${pad(i)}`,
      namespace: 'default',
      annotations: {
        'dataset-migration.io/location': `file://${root}/src/ds-${pad(i)}`,
        'dataset-migration.io/format': 'binary',
      },
    },
    spec: { type: 'dataset', owner: 'user:default/mock' },
  }));
}

function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, base));
    else out.push(path.relative(base, p));
  }
  return out.sort();
}

// ---------------------------------------------------------------- main

async function main() {
  const started0 = Date.now();
  const root = fs.realpathSync(
    fs.mkdtempSync(path.join(os.tmpdir(), 'bench-load-')),
  );
  const dbName = `dm_load_${randomBytes(4).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: ADMIN });
  const url = new URL(ADMIN);
  url.pathname = `/${dbName}`;
  const connection = url.toString();
  let knex: ReturnType<typeof knexFactory> | undefined;
  const replicas: Replica[] = [];
  let rssTimer: NodeJS.Timeout | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    if (rssTimer) clearInterval(rssTimer);
    await Promise.allSettled(replicas.map(r => r.stop()));
    await knex?.destroy().catch(() => {});
    if (!KEEP) {
      await admin
        .raw(`drop database if exists ${dbName} with (force)`)
        .catch(e => log(`drop database ${dbName} failed: ${e}`));
      fs.rmSync(root, { recursive: true, force: true });
    } else {
      log(`--keep: database ${dbName} and ${root} left in place`);
    }
    await admin.destroy().catch(() => {});
  };
  process.on('SIGINT', () => {
    log('\nSIGINT: cleaning up');
    cleanup().finally(() => process.exit(130));
  });
  process.on('SIGTERM', () => {
    log('\nSIGTERM: cleaning up');
    cleanup().finally(() => process.exit(143));
  });

  let failed = false;
  try {
    log(
      `load benchmark — ${new Date().toISOString()}, ${
        os.cpus().length
      } CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${
        process.version
      }, load ${load()}`,
    );
    log(
      `${N} migrations × ${K} objects × ${OBJECT_BYTES} B (local → local); ${R} replicas; client concurrency ${CLIENTS}; ` +
        `workers.concurrency ${CONCURRENCY}, pollIntervalMs ${POLL_MS}; ${
          AUTO_APPROVE
            ? 'autoApprove: true (create only)'
            : 'create + explicit approve'
        }; database ${dbName}; work ${root}`,
    );
    await admin.raw(`create database ${dbName}`);
    knex = knexFactory({ client: 'pg', connection, pool: { min: 0, max: 2 } });
    const pgVersion = (await knex.raw('show server_version')).rows[0]
      .server_version;

    let t = Date.now();
    generate(root);
    const entitiesFile = path.join(root, 'entities.json');
    fs.writeFileSync(entitiesFile, JSON.stringify(entities(root)));
    log(`generated ${N} datasets (${N * K} files) in ${secs(Date.now() - t)}`);

    const optionsFile = path.join(root, 'replica.json');
    fs.writeFileSync(
      optionsFile,
      JSON.stringify({
        connection,
        entitiesFile,
        poolMax: 10,
        config: {
          backend: { baseUrl: 'http://localhost', listen: { port: 0 } },
          datasetMigration: {
            autoApprove: AUTO_APPROVE,
            workers: { concurrency: CONCURRENCY, pollIntervalMs: POLL_MS },
            storage: { local: { roots: [root] } },
          },
        },
      }),
    );
    t = Date.now();
    // The first one runs the plugin's database migrations alone.
    replicas.push(await startReplica(optionsFile));
    replicas.push(
      ...(await Promise.all(
        Array.from({ length: R - 1 }, () => startReplica(optionsFile)),
      )),
    );
    log(
      `${R} replicas up in ${secs(Date.now() - t)}: ${replicas
        .map(r => `${r.child.pid} ${r.url}`)
        .join(', ')}; PostgreSQL ${pgVersion}`,
    );
    rssTimer = setInterval(() => {
      for (const r of replicas)
        r.peakRssMiB = Math.max(r.peakRssMiB, rssMiB(r.child.pid!));
    }, 250);
    const replicaAt = (i: number) => replicas[i % replicas.length];

    // ---- queue: create (+ approve) N migrations, round-robin, CLIENTS at a time
    const ids: string[] = new Array(N);
    const queueErrors: string[] = [];
    let nextIndex = 0;
    let queued = 0;
    const startedAt = Date.now();
    let queuedAt = 0;
    let running = true;

    const client = async () => {
      for (;;) {
        const i = nextIndex++;
        if (i >= N) return;
        const r = replicaAt(i);
        const created = await api(
          'POST create',
          `${r.url}/migrations`,
          'POST',
          {
            dataset: `resource:default/load-${pad(i)}`,
            target: { location: `file://${root}/dst/ds-${pad(i)}` },
          },
        );
        if (created.status !== 201) {
          queueErrors.push(
            `create ${i}: ${created.status} ${JSON.stringify(
              created.body,
            ).slice(0, 300)}`,
          );
          continue;
        }
        ids[i] = created.body.id;
        if (!AUTO_APPROVE) {
          const a = await api(
            'POST approve',
            `${r.url}/migrations/${ids[i]}/approve`,
            'POST',
            {},
          );
          if (a.status !== 200) {
            queueErrors.push(
              `approve ${i}: ${a.status} ${JSON.stringify(a.body).slice(
                0,
                300,
              )}`,
            );
            continue;
          }
        }
        queued++;
      }
    };

    // ---- reads sampled continuously, one at a time, alternating replicas
    const sampler = (async () => {
      let n = 0;
      while (running) {
        const r = replicaAt(n++);
        const known = ids.filter(Boolean);
        if (n % 2 === 0 && known.length) {
          const id = known[Math.floor(Math.random() * known.length)];
          await api('GET one', `${r.url}/migrations/${id}`, 'GET');
        } else {
          await api(
            'GET list (limit 50)',
            `${r.url}/migrations?limit=50`,
            'GET',
          );
        }
        await sleep(100);
      }
    })();

    // ---- progress: GET /fleet (counts by state) every 2 s
    const timeline: Array<{ s: number; counts: Record<string, number> }> = [];
    let counts: Record<string, number> = {};
    let lastPrint = 0;
    const clientsDone = Promise.all(
      Array.from({ length: CLIENTS }, () => client()),
    ).then(() => {
      queuedAt = Date.now();
      log(
        `queued ${queued}/${N} in ${secs(queuedAt - startedAt)} (${
          queueErrors.length
        } errors); load ${load()}`,
      );
    });
    let doneAt = 0;
    let reason = '';
    for (;;) {
      await sleep(2000);
      const f = await api(
        'GET fleet',
        `${replicaAt(timeline.length).url}/fleet`,
        'GET',
      );
      if (f.status === 200) counts = f.body.migrations ?? {};
      const elapsed = Date.now() - startedAt;
      timeline.push({ s: elapsed / 1000, counts });
      if (Date.now() - lastPrint >= 30_000) {
        lastPrint = Date.now();
        const ok = counts.succeeded ?? 0;
        log(
          `  ${secs(elapsed).padStart(8)}: queued ${queued}, ${JSON.stringify(
            counts,
          )}; ${((ok / elapsed) * 60_000).toFixed(
            0,
          )} succeeded/min; RSS ${replicas
            .map(r => `${rssMiB(r.child.pid!).toFixed(0)}`)
            .join('/')} MiB; load ${load()}`,
        );
      }
      const bad = TERMINAL_BAD.reduce((a, s) => a + (counts[s] ?? 0), 0);
      if (bad > 0) {
        reason = `${bad} migration(s) not succeeding: ${JSON.stringify(
          counts,
        )}`;
        break;
      }
      if (queuedAt && queueErrors.length) {
        reason = `${queueErrors.length} create/approve error(s)`;
        break;
      }
      if ((counts.succeeded ?? 0) >= N) {
        doneAt = Date.now();
        break;
      }
      if (elapsed > TIMEOUT_MS) {
        reason = `timeout after ${secs(elapsed)}: ${JSON.stringify(counts)}`;
        break;
      }
    }
    running = false;
    await sampler;
    if (!doneAt) {
      // let the clients finish, so nothing is in flight while cleaning up
      await Promise.race([clientsDone, sleep(30_000)]);
    } else {
      await clientsDone;
    }

    const stats = await Promise.all(
      replicas.map(async r => JSON.parse(await r.command('STATS', 'STATS'))),
    );

    // ---- results
    log(`\n== results (${new Date().toISOString()})`);
    const total = (doneAt || Date.now()) - startedAt;
    const ok = counts.succeeded ?? 0;
    if (doneAt) {
      log(`all ${N} migrations succeeded`);
    } else {
      failed = true;
      log(`NOT ALL SUCCEEDED: ${reason}`);
      for (const e of queueErrors.slice(0, 10)) log(`   ${e}`);
      for (const state of TERMINAL_BAD) {
        if (!counts[state]) continue;
        const l = await api(
          undefined,
          `${replicas[0].url}/migrations?state=${state}&limit=10`,
          'GET',
        );
        for (const m of l.body.items ?? [])
          log(
            `   ${state} ${m.id} ${m.dataset}: ${
              m.reason ?? m.error ?? JSON.stringify(m.progress)
            }`,
          );
      }
    }
    log(`total time (first create → last succeeded): ${secs(total)}`);
    log(
      `time to queue (${
        AUTO_APPROVE ? 'create' : 'create + approve'
      } all, ${CLIENTS} clients): ${
        queuedAt ? secs(queuedAt - startedAt) : 'not finished'
      }`,
    );
    log(
      `throughput: ${((ok / total) * 60_000).toFixed(
        1,
      )} migrations/minute (${ok} succeeded), ${(
        (ok * K) /
        (total / 1000)
      ).toFixed(1)} objects/s`,
    );
    // time to reach 10 %, 50 %, 90 %, 100 % succeeded
    const marks = [0.1, 0.25, 0.5, 0.75, 0.9, 1].map(p => {
      const hit = timeline.find(x => (x.counts.succeeded ?? 0) >= p * N);
      return `${p * 100}% ${hit ? `${hit.s.toFixed(0)} s` : '-'}`;
    });
    log(`succeeded by: ${marks.join(', ')} (GET /fleet every 2 s)`);
    const l = lat.report();
    log(
      `API latency during the run (creates/approvals by ${CLIENTS} clients; reads: one at a time every ~100 ms):\n${l.text}`,
    );
    log('replicas:');
    replicas.forEach((r, i) => {
      const s = stats[i];
      log(
        `  ${r.child.pid}: peak RSS ${Math.max(
          r.peakRssMiB,
          s.vmHwmMiB,
        ).toFixed(0)} MiB (VmHWM ${s.vmHwmMiB.toFixed(
          0,
        )}), CPU ${s.cpuSeconds.toFixed(1)} s, statements ${s.statements} (${(
          s.statements / Math.max(1, ok)
        ).toFixed(1)} per succeeded migration), transactions ${
          s.transactions
        }, log warnings/errors ${r.warnings}`,
      );
    });
    const merged = new Map<string, { n: number; ms: number }>();
    for (const s of stats)
      for (const x of [...s.top, ...s.topTime]) {
        const m = merged.get(x.sql) ?? { n: 0, ms: 0 };
        // the same shape may be in both lists of one replica
        merged.set(x.sql, m);
      }
    for (const s of stats) {
      const seen = new Set<string>();
      for (const x of [...s.top, ...s.topTime]) {
        if (seen.has(x.sql)) continue;
        seen.add(x.sql);
        const m = merged.get(x.sql)!;
        m.n += x.n;
        m.ms += x.ms;
      }
    }
    const allStatements = stats.reduce((a, s) => a + s.statements, 0);
    log(
      `statements, all replicas: ${allStatements} (${(
        allStatements / Math.max(1, ok)
      ).toFixed(1)} per migration); top by count (count · summed ms · shape):`,
    );
    for (const [sql, m] of [...merged.entries()]
      .sort((a, b) => b[1].n - a[1].n)
      .slice(0, 15))
      log(
        `  ${String(m.n).padStart(8)} · ${String(Math.round(m.ms)).padStart(
          8,
        )} ms · ${sql}`,
      );
    log('top by summed time:');
    for (const [sql, m] of [...merged.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 8))
      log(
        `  ${String(m.n).padStart(8)} · ${String(Math.round(m.ms)).padStart(
          8,
        )} ms · ${sql}`,
      );

    // ---- spot check: targets byte-equal to sources
    // among the migrations that succeeded (all of them when the run completed)
    const succeeded: number[] = (
      await knex('dm_migrations').where('state', 'succeeded').select('dataset')
    ).map((r: { dataset: string }) =>
      Number(/load-(\d+)$/.exec(r.dataset)![1]),
    );
    const sample = succeeded
      .sort(() => Math.random() - 0.5)
      .slice(0, Math.min(SPOT, succeeded.length));
    const mismatches: string[] = [];
    for (const i of sample) {
      const s = path.join(root, 'src', `ds-${pad(i)}`);
      const d = path.join(root, 'dst', `ds-${pad(i)}`);
      if (!fs.existsSync(d)) {
        mismatches.push(`ds-${pad(i)}: no target directory`);
        continue;
      }
      const sf = listFiles(s);
      const df = listFiles(d);
      if (sf.join('\n') !== df.join('\n'))
        mismatches.push(
          `ds-${pad(i)}: files ${JSON.stringify(df)} ≠ ${JSON.stringify(sf)}`,
        );
      for (const f of sf)
        if (
          fs.existsSync(path.join(d, f)) &&
          !fs
            .readFileSync(path.join(s, f))
            .equals(fs.readFileSync(path.join(d, f)))
        )
          mismatches.push(`ds-${pad(i)}/${f}: bytes differ`);
    }
    log(
      `spot check of ${sample.length} datasets: ${
        mismatches.length
          ? `${mismatches.length} MISMATCHES`
          : 'every target file byte-equal to its source, no extra files'
      }`,
    );
    for (const m of mismatches.slice(0, 10)) log(`   ${m}`);
    if (doneAt && mismatches.length) failed = true;

    // ---- database afterwards
    await Promise.allSettled(replicas.map(r => r.stop()));
    const size = Number(
      (await knex.raw('select pg_database_size(current_database()) as s'))
        .rows[0].s,
    );
    const tables: Array<{ t: string }> = (
      await knex.raw(
        "select table_name as t from information_schema.tables where table_schema = 'public' and table_name like 'dm\\_%' order by 1",
      )
    ).rows;
    const rowCounts: string[] = [];
    for (const { t: table } of tables) {
      const [{ n }] = await knex(table).count({ n: '*' });
      const rel = Number(
        (await knex.raw('select pg_total_relation_size(?) as s', [table]))
          .rows[0].s,
      );
      rowCounts.push(
        `${table} ${Number(n).toLocaleString('en')} rows (${(
          rel /
          2 ** 20
        ).toFixed(1)} MiB)`,
      );
    }
    log(
      `database ${dbName} afterwards: ${(size / 2 ** 20).toFixed(
        1,
      )} MiB (pg_database_size); ${rowCounts.join(', ')}`,
    );
    log(
      `load average at the end: ${load()}; whole run ${secs(
        Date.now() - started0,
      )}`,
    );
    log(
      `\nRESULTS_JSON ${JSON.stringify({
        n: N,
        k: K,
        replicas: R,
        ok,
        totalS: total / 1000,
        queueS: queuedAt ? (queuedAt - startedAt) / 1000 : null,
        perMinute: (ok / total) * 60_000,
        latency: l.json,
        peakRssMiB: replicas.map((r, i) =>
          Math.max(r.peakRssMiB, stats[i].vmHwmMiB),
        ),
        dbBytes: size,
        rowCounts,
        statements: allStatements,
      })}`,
    );
  } catch (e) {
    failed = true;
    console.error(e);
    for (const r of replicas)
      log(`replica ${r.child.pid} stderr tail:\n${r.stderrTail()}`);
  } finally {
    await cleanup();
  }
  process.exit(failed ? 1 : 0);
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});

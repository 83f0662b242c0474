/* eslint-disable no-console */
/*
 * Benchmark (not a test): the whole engine through its REST API — a real
 * Backstage backend in a child process (plugin + S3 + GCS modules, SQLite
 * file database), create → approve → poll until `succeeded`, validation
 * included — next to `rclone copy` + `rclone check --download` at the same
 * concurrency on the same loopback servers and data, and `cat` / `cp -r` of
 * the same bytes as the physical reference.
 *
 *   bench/run-engine-vs-rclone.sh [--routes s3-local,local-s3,s3-s3,s3-gcs]
 *       (also gcs-local, gcs-s3: a GCS test-server source)
 *       [--cases a,b,c] [--concurrency 8] [--poll-ms 100] [--part-mib 64]
 *       [--cpu-prof s3-local:a] [--small-count 10000] [--rounds 3]
 *
 * Datasets: a = 10,000 × 4 KiB, b = 8 × 256 MiB, c = 1 × 4 GiB. Each engine
 * case gets a fresh backend process (so its VmHWM is that case's), a fresh
 * SQLite file, and every knex statement counted (bench/engine-vs-rclone-backend.ts).
 * `--rounds N` runs each route N times (engine, then rclone, each round) and
 * prints every round's ratio and their median: on a shared machine one run
 * decides nothing.
 *
 * Environment: BENCH_S3_TLS=1 serves S3 over HTTPS; BENCH_GCS_FAST=0 sends
 * every GCS request through the client library (`fastUploads`/`fastReads` off); BENCH_ENGINE_NODE_FLAGS adds Node flags to the engine's
 * process (e.g. `--trace-gc`, `--max-semi-space-size=32`); BENCH_ENGINE_LOG
 * names a file that gets the engine process's other stdout lines;
 * BENCH_S3RVER_DIR=/dev/shm keeps s3rver's files on a tmpfs.
 */
import {
  execFileSync,
  spawn,
  spawnSync,
  ChildProcess,
} from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { mockCredentials } from '@backstage/backend-test-utils';
import {
  startS3rver,
  TEST_TLS,
} from '../plugins/dataset-migration-backend-module-s3/src/__testUtils__/s3rver';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const NODE = process.execPath;
const TS = ['-r', require.resolve('@backstage/cli/config/nodeTransform.cjs')];
const API = '/api/dataset-migration';
const AUTH = mockCredentials.user.header();

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const ROUTES = opt('routes', 's3-local,local-s3,s3-s3,s3-gcs').split(',');
const CASES = opt('cases', 'a,b,c').split(',');
const CONCURRENCY = Number(opt('concurrency', '8'));
const POLL_MS = Number(opt('poll-ms', '100'));
/** `workers.partMiB` of the engine (large objects in parts); default: the engine's. */
const PART_MIB = opt('part-mib', '');
const CPU_PROF = opt('cpu-prof', '');
/** BENCH_S3_TLS=1: s3rver over HTTPS (a test-only certificate), as S3 is. */
const S3_TLS = process.env.BENCH_S3_TLS === '1';
/**
 * BENCH_S3RVER_DIR=/dev/shm: s3rver keeps its files there (a tmpfs) rather
 * than in the OS temp folder, so its run-to-run cost is not the disk's.
 */
const S3RVER_DIR = process.env.BENCH_S3RVER_DIR || undefined;
const SMALL_COUNT = Number(opt('small-count', '10000'));
const ROUNDS = Math.max(1, Number(opt('rounds', '1')));

const DATASETS: Record<string, { label: string; count: number; size: number }> =
  {
    a: {
      label: `${SMALL_COUNT.toLocaleString('en')} × 4 KiB`,
      count: SMALL_COUNT,
      size: 4096,
    },
    b: { label: '8 × 256 MiB', count: 8, size: 256 * MiB },
    c: { label: '1 × 4 GiB', count: 1, size: 4 * GiB },
  };

interface Row {
  route: string;
  dataset: string;
  tool: string;
  /** 1…`--rounds`; the physical references have none. */
  round?: number;
  objects: number;
  bytes: number;
  wall: number;
  copy?: number;
  check?: number;
  peakRssMiB?: number;
  stmtsPerObject?: number;
  /** user + system CPU seconds of the tool (the engine's backend process, rclone). */
  cpu?: number;
  /** ...and of the test servers (s3rver, the GCS test server) meanwhile. */
  serverCpu?: number;
  ok: boolean;
  note?: string;
}
const rows: Row[] = [];
const extra: string[] = [];

const load = () =>
  os
    .loadavg()
    .map(l => l.toFixed(2))
    .join(' ');

function log(s: string) {
  process.stdout.write(`${s}\n`);
}

// ---------------------------------------------------------------- data

function writeBig(file: string, size: number) {
  // Streamed 8 MiB at a time: random block + per-block counter, never
  // repeating, incompressible.
  const block = randomBytes(8 * MiB);
  const fd = fs.openSync(file, 'w');
  for (let off = 0, n = 0; off < size; off += block.length, n++) {
    block.writeUInt32LE(n, 0);
    block.writeUInt32LE(Math.floor(Math.random() * 2 ** 32), 4);
    fs.writeSync(fd, block, 0, Math.min(block.length, size - off));
  }
  fs.closeSync(fd);
}

function generate(dir: string, name: string) {
  const d = DATASETS[name];
  fs.mkdirSync(dir, { recursive: true });
  if (name === 'a') {
    for (let i = 0; i < d.count; i++) {
      const sub = path.join(dir, `part=${i % 16}`);
      if (i < 16) fs.mkdirSync(sub, { recursive: true });
      fs.writeFileSync(
        path.join(sub, `object-${String(i).padStart(6, '0')}.bin`),
        randomBytes(d.size),
      );
    }
  } else {
    for (let i = 0; i < d.count; i++) {
      writeBig(path.join(dir, `blob-${i}.bin`), d.size);
    }
  }
}

function freeBytes(dir: string) {
  const out = execFileSync('df', ['-B1', '--output=avail', dir], {
    encoding: 'utf8',
  });
  return Number(out.trim().split('\n').pop());
}

// ---------------------------------------------------------------- processes

/** Every pid in the tree rooted at `pid` (children via /proc). */
function tree(pid: number): number[] {
  const out = [pid];
  try {
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      const kids = fs
        .readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
        .trim();
      for (const k of kids ? kids.split(/\s+/) : [])
        out.push(...tree(Number(k)));
    }
  } catch {
    /* gone */
  }
  return out;
}

function rssKiB(pid: number) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(s)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const CLK_TCK = Number(
  execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }),
);

/** user + system CPU seconds a process has used so far (/proc/<pid>/stat). */
function cpuSecondsOf(pid: number | undefined) {
  if (!pid) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the `(comm)`: state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU seconds of the test servers (s3rver and the GCS test server each run in a child process). */
const serverPids: Array<number | undefined> = [];
function serverCpuSeconds() {
  return serverPids.reduce((sum: number, pid) => sum + cpuSecondsOf(pid), 0);
}

/** Samples the summed RSS of a process tree every 50 ms. */
function sampleTree(pid: number) {
  let peak = 0;
  const t = setInterval(() => {
    peak = Math.max(
      peak,
      tree(pid).reduce((a, p) => a + rssKiB(p), 0),
    );
  }, 50);
  return {
    stop() {
      clearInterval(t);
      return peak / 1024;
    },
  };
}

/** Runs a command under GNU time: seconds, peak RSS (MiB), ok. */
function timed(command: string, args: string[], env?: NodeJS.ProcessEnv) {
  const started = process.hrtime.bigint();
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', 'PEAK_RSS_KB %M CPU_S %U %S', command, ...args],
    {
      env: env ?? process.env,
      encoding: 'utf8',
      maxBuffer: 256 * MiB,
    },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rss = /PEAK_RSS_KB (\d+) CPU_S ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '');
  const ok = r.status === 0;
  if (!ok) process.stderr.write((r.stderr ?? '').slice(-3000));
  return {
    ok,
    seconds,
    peakRssMiB: rss ? Number(rss[1]) / 1024 : NaN,
    cpu: rss ? Number(rss[2]) + Number(rss[3]) : NaN,
    stderr: r.stderr ?? '',
  };
}

/** A location as rclone names it: a path, `:s3:bucket/…` or `:gcs:bucket/…`. */
function rcloneRemote(location: string) {
  return location
    .replace(/^file:\/\//, '')
    .replace(/^s3:\/\//, ':s3:')
    .replace(/^gs:\/\//, ':gcs:');
}

function sh(script: string) {
  return timed('bash', ['-c', script]);
}

/**
 * Flushes the page cache's dirty data (the last run's writes, the last
 * cleanup's deletes) before a tool's timed run, so neither tool pays for
 * the other's writeback (the engine always runs right after a cleanup).
 * Logged when it takes 0.5 s or more.
 */
function settle(tool: string) {
  const t = Date.now();
  execFileSync('sync');
  const s = (Date.now() - t) / 1000;
  if (s >= 0.5) log(`   sync before ${tool}'s run: ${s.toFixed(1)} s`);
}

async function startGcs(buckets: string[]) {
  const child = spawn(
    NODE,
    [...TS, path.join(__dirname, 's3-copy-gcs-server.ts'), buckets.join(',')],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  serverPids.push(child.pid);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', d => {
      out += d;
      const m = /GCS_READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', code =>
      reject(new Error(`GCS test server exited with ${code}`)),
    );
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      const exited = new Promise(r => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface Backend {
  child: ChildProcess;
  url: string;
  command(cmd: string, answer: string): Promise<string>;
  stop(): Promise<void>;
}

async function startBackend(options: {
  sqliteFile: string;
  config: object;
  entities: object[];
  cpuProfDir?: string;
}): Promise<Backend> {
  const flags = [
    ...(options.cpuProfDir
      ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir]
      : []),
    // Node flags of the engine's process (e.g. `--max-semi-space-size=16`).
    ...(process.env.BENCH_ENGINE_NODE_FLAGS ?? '').split(' ').filter(Boolean),
  ];
  const child = spawn(
    NODE,
    [
      ...flags,
      ...TS,
      path.join(__dirname, 'engine-vs-rclone-backend.ts'),
      JSON.stringify(options),
    ],
    {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        // BENCH_S3_TLS=1: s3rver's test-only certificate is trusted.
        ...(S3_TLS && { NODE_EXTRA_CA_CERTS: TEST_TLS.cert }),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', d => {
    stderr = (stderr + d).slice(-8000);
  });
  const lines = readline.createInterface({ input: child.stdout! });
  const waiters: Array<(l: string) => boolean> = [];
  lines.on('line', l => {
    // The engine's other output (e.g. `--trace-gc` lines), kept when asked.
    if (process.env.BENCH_ENGINE_LOG) {
      fs.appendFileSync(process.env.BENCH_ENGINE_LOG, `${l}\n`);
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
        reject(new Error(`backend exited with ${code}: ${stderr}`)),
      );
    });
  const port = Number(await next('BACKEND_READY'));
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    command(cmd, answer) {
      const p = next(answer);
      child.stdin!.write(`${cmd}\n`);
      return p;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise(r => child.once('exit', r));
      child.stdin!.write('STOP\n');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
    },
  };
}

async function api(url: string, method: string, body?: object) {
  const res = await fetch(url, {
    method,
    headers: { Authorization: AUTH, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json };
}

// ---------------------------------------------------------------- profile

function summariseProfile(dir: string) {
  const file = fs.readdirSync(dir).find(f => f.endsWith('.cpuprofile'));
  if (!file) return `no .cpuprofile in ${dir}`;
  const prof = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const self = new Map<number, number>();
  const dt: number[] = prof.timeDeltas;
  prof.samples.forEach((id: number, i: number) =>
    self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0)),
  );
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const node of prof.nodes) {
    const us = self.get(node.id) ?? 0;
    total += us;
    const cf = node.callFrame;
    const where = cf.url
      ? cf.url
          .replace(/^file:\/\//, '')
          .replace(/.*\/node_modules\//, 'nm:')
          .replace(/.*\/work\/main\//, '')
      : '(native)';
    const fn = `${cf.functionName || '(anonymous)'} ${where}:${
      cf.lineNumber + 1
    }`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
    const pkg = where.startsWith('nm:')
      ? where
          .split('/')
          .slice(0, where.startsWith('nm:@') ? 2 : 1)
          .join('/')
      : where.split('/').slice(0, 3).join('/');
    byFile.set(pkg, (byFile.get(pkg) ?? 0) + us);
  }
  const fmt = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(
        ([k, us]) =>
          `  ${(us / 1e6).toFixed(2).padStart(7)} s ${((100 * us) / total)
            .toFixed(1)
            .padStart(5)} %  ${k}`,
      )
      .join('\n');
  return `CPU profile ${path.join(dir, file)} (${(total / 1e6).toFixed(
    1,
  )} s sampled, main thread)\n top self time by function:\n${fmt(
    byFn,
    25,
  )}\n by package / folder:\n${fmt(byFile, 15)}`;
}

// ---------------------------------------------------------------- main

async function main() {
  const rcloneVersion = spawnSync('rclone', ['version'], { encoding: 'utf8' });
  if (rcloneVersion.status !== 0) {
    throw new Error(
      'rclone not found: apt-get install -y rclone (Debian, 1.60)',
    );
  }
  const work = fs.realpathSync(
    fs.mkdtempSync(path.join(os.tmpdir(), 'bench-evr-')),
  );
  log(
    `engine vs rclone through the REST API — ${new Date().toISOString()}, ${
      os.cpus().length
    } CPUs, node ${process.version}, ${rcloneVersion.stdout.split('\n')[0]}`,
  );
  log(
    `routes ${ROUTES.join(',')}; cases ${CASES.join(
      ',',
    )}; engine workers.concurrency ${CONCURRENCY}, pollIntervalMs ${POLL_MS}, partMiB ${
      PART_MIB || 'default'
    }; rclone --transfers ${CONCURRENCY} --checkers ${CONCURRENCY}; S3 over ${
      S3_TLS ? 'HTTPS' : 'HTTP'
    }, s3rver data in ${
      S3RVER_DIR ?? os.tmpdir()
    }; work ${work}; load ${load()}`,
  );
  const s3rver = await startS3rver({
    buckets: ['bench-src', 'bench-dst'],
    tls: S3_TLS,
    parentDir: S3RVER_DIR,
  });
  serverPids.push(s3rver.pid);
  const gcs = await startGcs(['bench-src', 'bench-dst']);
  const storage = {
    s3: {
      endpoint: s3rver.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      // BENCH_S3_FAST=0: every S3 request through the SDK (see the README).
      ...(process.env.BENCH_S3_FAST === '0' && { fastRequests: false }),
      // BENCH_S3_CHECKSUM=none: the engine asks S3 for no CRC32C per write
      // and copy, as rclone does (the test s3rver computes it in JavaScript).
      ...(process.env.BENCH_S3_CHECKSUM && {
        checksumAlgorithm: process.env.BENCH_S3_CHECKSUM,
      }),
    },
    gcs: {
      apiEndpoint: gcs.endpoint,
      projectId: 'bench',
      // BENCH_GCS_FAST=0: every GCS request through the client library.
      ...(process.env.BENCH_GCS_FAST === '0' && {
        fastUploads: false,
        fastReads: false,
      }),
    },
    local: { roots: [work] },
  };
  const rcloneEnv: NodeJS.ProcessEnv = {
    ...process.env,
    RCLONE_CONFIG: path.join(work, 'rclone.conf'),
    RCLONE_S3_PROVIDER: 'Other',
    RCLONE_S3_ENDPOINT: s3rver.endpoint,
    RCLONE_S3_ACCESS_KEY_ID: 'S3RVER',
    RCLONE_S3_SECRET_ACCESS_KEY: 'S3RVER',
    RCLONE_S3_FORCE_PATH_STYLE: 'true',
    RCLONE_GCS_ENDPOINT: `${gcs.endpoint}/storage/v1/`,
    RCLONE_GCS_ANONYMOUS: 'true',
  };
  // aws-sdk-go v1 (rclone 1.60) refuses plain-http endpoints with it set
  // (and rclone's own transport with it over HTTPS): rclone's --ca-cert
  // names the test-only certificate instead.
  delete rcloneEnv.AWS_CA_BUNDLE;
  if (S3_TLS) rcloneEnv.RCLONE_CA_CERT = TEST_TLS.cert;
  fs.writeFileSync(rcloneEnv.RCLONE_CONFIG!, '');
  const rclone = (...args: string[]) => timed('rclone', args, rcloneEnv);
  const common = ['--fast-list', '--checkers', String(CONCURRENCY)];

  const stopAll = async () => {
    await gcs.stop().catch(() => {});
    await s3rver.stop().catch(() => {});
    fs.rmSync(work, { recursive: true, force: true });
  };
  process.on('SIGINT', () => stopAll().finally(() => process.exit(130)));

  try {
    for (const name of CASES) {
      const d = DATASETS[name];
      if (!d) throw new Error(`unknown case ${name}`);
      const bytes = d.count * d.size;
      const needsS3 = ROUTES.some(r => r.startsWith('s3-'));
      const needsGcs = ROUTES.some(r => r.startsWith('gcs-'));
      // local source + s3rver / GCS sources + engine target + rclone target + cp copy, and slack
      const need = bytes * (4 + Number(needsS3) + Number(needsGcs)) + 2 * GiB;
      const free = freeBytes(work);
      if (free < need) {
        log(
          `SKIP case ${name}: needs ${(need / GiB).toFixed(
            1,
          )} GiB free, df says ${(free / GiB).toFixed(1)} GiB`,
        );
        continue;
      }
      const src = path.join(work, 'src', name);
      let t = Date.now();
      generate(src, name);
      log(
        `\n== case ${name} (${d.label}): generated in ${(
          (Date.now() - t) /
          1000
        ).toFixed(1)} s; df free ${(freeBytes(work) / GiB).toFixed(1)} GiB`,
      );

      // physical reference: cat (read) and cp -r + sync (read + write) of the same bytes
      execFileSync('sync');
      const cat = sh(
        `find '${src}' -type f -print0 | xargs -0 cat > /dev/null`,
      );
      const cpDir = path.join(work, 'cp-ref');
      const cp = sh(`cp -r '${src}' '${cpDir}' && sync`);
      fs.rmSync(cpDir, { recursive: true, force: true });
      for (const [tool, r] of [
        ['cat', cat],
        ['cp -r', cp],
      ] as const) {
        rows.push({
          route: 'disk',
          dataset: name,
          tool,
          objects: d.count,
          bytes,
          wall: r.seconds,
          peakRssMiB: r.peakRssMiB,
          ok: r.ok,
        });
        log(fmtRow(rows[rows.length - 1]));
      }

      for (const [needed, remote, uri] of [
        [needsS3, `:s3:bench-src/${name}`, `s3://bench-src/${name}`],
        [needsGcs, `:gcs:bench-src/${name}`, `gs://bench-src/${name}`],
      ] as const) {
        if (!needed) continue;
        t = Date.now();
        const seed = rclone(
          'copy',
          src,
          remote,
          ...common,
          '--transfers',
          String(CONCURRENCY),
        );
        if (!seed.ok)
          throw new Error(`seeding ${uri} failed: ${seed.stderr.slice(-2000)}`);
        log(`seeded ${uri} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      }

      const runs = ROUTES.flatMap(r =>
        Array.from({ length: ROUNDS }, (_, i) => ({ route: r, round: i + 1 })),
      );
      for (const { route, round } of runs) {
        const [from, to] = route.split('-');
        const srcLoc =
          from === 's3'
            ? `s3://bench-src/${name}`
            : from === 'gcs'
            ? `gs://bench-src/${name}`
            : `file://${src}`;
        const srcRclone = rcloneRemote(srcLoc);
        const dstLoc = (tool: string) =>
          to === 'local'
            ? `file://${work}/dst/${tool}-${name}`
            : to === 's3'
            ? `s3://bench-dst/${tool}-${name}-${from}`
            : `gs://bench-dst/${tool}-${name}-${from}`;
        const dstRclone = rcloneRemote(dstLoc('rclone'));
        log(
          `\n-- ${route} ${d.label}${
            ROUNDS > 1 ? `, round ${round} of ${ROUNDS}` : ''
          } (load ${load()})`,
        );

        // ---- engine through the REST API
        const profDir =
          CPU_PROF === `${route}:${name}`
            ? fs.mkdtempSync(path.join(os.tmpdir(), 'evr-prof-'))
            : undefined;
        const sqliteFile = path.join(work, `${route}-${name}.sqlite`);
        const backend = await startBackend({
          sqliteFile,
          cpuProfDir: profDir,
          config: {
            datasetMigration: {
              workers: {
                concurrency: CONCURRENCY,
                pollIntervalMs: POLL_MS,
                ...(PART_MIB !== '' && { partMiB: Number(PART_MIB) }),
              },
              storage,
            },
          },
          entities: [
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'Resource',
              metadata: {
                name: `bench-${name}`,
                namespace: 'default',
                annotations: {
                  'dataset-migration.io/location': srcLoc,
                  'dataset-migration.io/format': 'binary',
                },
              },
              spec: { type: 'dataset', owner: 'user:default/mock' },
            },
          ],
        });
        let engineRow: Row;
        try {
          await backend.command('RESET', 'RESET_OK');
          settle('engine');
          const sampler = sampleTree(backend.child.pid!);
          const cpuBefore = JSON.parse(
            await backend.command('STATS', 'STATS'),
          ).cpuSeconds;
          const serversBefore = serverCpuSeconds();
          const started = Date.now();
          const base = `${backend.url}${API}`;
          const created = await api(`${base}/migrations`, 'POST', {
            dataset: `resource:default/bench-${name}`,
            target: { location: dstLoc('engine') },
          });
          if (created.status !== 201)
            throw new Error(
              `create: ${created.status} ${JSON.stringify(created.body)}`,
            );
          const id = created.body.id;
          let m = created.body;
          let approveAt = 0;
          const terminal = ['succeeded', 'failed', 'rolled-back', 'cancelled'];
          while (!terminal.includes(m.state)) {
            if (m.state === 'awaiting-approval') {
              const a = await api(
                `${base}/migrations/${id}/approve`,
                'POST',
                {},
              );
              if (a.status !== 200)
                throw new Error(
                  `approve: ${a.status} ${JSON.stringify(a.body)}`,
                );
              approveAt = Date.now();
            }
            // Approved at once, then watched as the portal does (it polls
            // every 2 s): a 100 ms poll all along cost the engine ~3 % of
            // its CPU in the small-object runs. The end is read from the
            // migration's last state change, not from when a poll saw it.
            await new Promise(r => setTimeout(r, approveAt ? 1000 : 100));
            m = (await api(`${base}/migrations/${id}`, 'GET')).body;
            if (Date.now() - started > 3 * 3600_000) throw new Error('timeout');
          }
          const seenAt = Date.now();
          const serverCpu = serverCpuSeconds() - serversBefore;
          const peak = sampler.stop();
          const stats = JSON.parse(await backend.command('STATS', 'STATS'));
          const events: any[] = [];
          for (;;) {
            const page = await api(
              `${base}/migrations/${id}/events?after=${
                events[events.length - 1]?.id ?? 0
              }&limit=500`,
              'GET',
            );
            events.push(...page.body.items);
            if (page.body.items.length < 500) break;
          }
          const report = (await api(`${base}/migrations/${id}/report`, 'GET'))
            .body;
          const endedAt = Date.parse(
            [...events].reverse().find(e => e.type === 'state-changed')
              ?.createdAt ?? '',
          );
          const wall =
            ((Number.isFinite(endedAt) ? Math.min(endedAt, seenAt) : seenAt) -
              started) /
            1000;
          const at = (step: string) =>
            Date.parse(
              events.find(e => e.type === 'step' && e.details?.step === step)
                ?.createdAt ?? '',
            );
          const copy = (at('validate') - at('copy')) / 1000;
          const validate = (at('cutover') - at('validate')) / 1000;
          const objects = m.plan?.source?.objectCount ?? d.count;
          const ok = m.state === 'succeeded' && report?.passed === true;
          engineRow = {
            route,
            round,
            dataset: name,
            tool: 'engine',
            objects,
            bytes: m.plan?.source?.totalBytes ?? bytes,
            wall,
            copy,
            check: validate,
            peakRssMiB: Math.max(peak, stats.vmHwmMiB),
            stmtsPerObject: stats.statements / objects,
            cpu: stats.cpuSeconds - cpuBefore,
            serverCpu,
            ok,
            note: ok
              ? undefined
              : `ended ${m.state}: ${m.reason ?? ''} ${JSON.stringify(
                  events
                    .filter(e => /fail|error|retry/i.test(e.type))
                    .slice(0, 3),
                )}`.slice(0, 1500),
          };
          extra.push(
            `${route} ${name}: state ${m.state}, approve after ${
              approveAt ? ((approveAt - started) / 1000).toFixed(2) : '-'
            } s, copy ${copy.toFixed(1)} s, validate ${validate.toFixed(
              1,
            )} s, items ${JSON.stringify(m.progress)}, events ${
              events.length
            }, ` +
              `backend CPU ${(stats.cpuSeconds - cpuBefore).toFixed(
                1,
              )} s, statements ${stats.statements} (${(
                stats.statements / objects
              ).toFixed(1)}/object; transactions ${
                stats.transactions
              }; ${JSON.stringify(
                stats.byVerb,
              )}), VmHWM ${stats.vmHwmMiB.toFixed(0)} MiB\n` +
              `   top statements by time (SQLite + knex, main thread): ${stats.top
                .slice(0, 8)
                .map(
                  (s: any) =>
                    `\n     ${String(s.n).padStart(7)} × ${(s.ms / s.n)
                      .toFixed(2)
                      .padStart(6)} ms = ${(s.ms / 1000).toFixed(2)} s  ${
                      s.sql
                    }`,
                )
                .join('')}`,
          );
        } catch (e) {
          engineRow = {
            route,
            round,
            dataset: name,
            tool: 'engine',
            objects: d.count,
            bytes,
            wall: NaN,
            ok: false,
            note: String((e as Error).message ?? e).slice(0, 1500),
          };
        } finally {
          await backend.stop();
        }
        rows.push(engineRow);
        log(fmtRow(engineRow));
        if (engineRow.note) log(`   engine: ${engineRow.note}`);
        if (extra.length) log(`   ${extra[extra.length - 1]}`);
        if (profDir)
          extra.push(summariseProfile(profDir)), log(extra[extra.length - 1]);

        // ---- rclone copy + check --download
        const s3Flags = from === 's3' || to === 's3' ? [] : [];
        settle('rclone');
        const rcloneServersBefore = serverCpuSeconds();
        const copy = rclone(
          'copy',
          srcRclone,
          dstRclone,
          ...common,
          ...s3Flags,
          '--transfers',
          String(CONCURRENCY),
        );
        let check = rclone(
          'check',
          '--download',
          srcRclone,
          dstRclone,
          ...common,
          ...s3Flags,
        );
        let checkNote: string | undefined;
        if (!check.ok && /unsupported protocol scheme ""/.test(check.stderr)) {
          // The repo's GCS test server returns object metadata without
          // `mediaLink`, which rclone 1.60 downloads from: `--download` cannot
          // read it. Compare sizes + MD5 from the metadata instead.
          checkNote =
            'check --download impossible against the GCS test server (no mediaLink in object metadata); plain `rclone check` (size + md5 from metadata) instead';
          log(`   rclone: ${checkNote}`);
          check = rclone('check', srcRclone, dstRclone, ...common, ...s3Flags);
        }
        const rcloneServerCpu = serverCpuSeconds() - rcloneServersBefore;
        const rcloneRow: Row = {
          route,
          round,
          dataset: name,
          tool: 'rclone',
          objects: engineRow.objects,
          bytes: engineRow.bytes,
          wall: copy.seconds + check.seconds,
          copy: copy.seconds,
          check: check.seconds,
          peakRssMiB: Math.max(copy.peakRssMiB, check.peakRssMiB),
          cpu: copy.cpu + check.cpu,
          serverCpu: rcloneServerCpu,
          ok: copy.ok && check.ok,
          note:
            copy.ok && check.ok
              ? checkNote
              : (copy.stderr + check.stderr).slice(-1000),
        };
        rows.push(rcloneRow);
        log(fmtRow(rcloneRow));
        if (!rcloneRow.ok) log(`   rclone: ${rcloneRow.note}`);

        // ---- clean up this route's targets
        for (const tool of ['engine', 'rclone']) {
          const loc = dstLoc(tool);
          if (loc.startsWith('file://')) {
            fs.rmSync(loc.slice(7), { recursive: true, force: true });
          } else {
            rclone('purge', rcloneRemote(loc));
          }
        }
        // the engine's backup area (empty for fresh targets) and the database
        fs.rmSync(path.join(work, 'dst'), { recursive: true, force: true });
        for (const f of [sqliteFile, `${sqliteFile}-wal`, `${sqliteFile}-shm`])
          fs.rmSync(f, { force: true });
      }

      // ---- clean up this case's sources
      fs.rmSync(src, { recursive: true, force: true });
      if (needsS3) rclone('purge', `:s3:bench-src/${name}`);
      if (needsGcs) rclone('purge', `:gcs:bench-src/${name}`);
      log(
        `case ${name} done; df free ${(freeBytes(work) / GiB).toFixed(
          1,
        )} GiB; load ${load()}`,
      );
    }
  } finally {
    await stopAll();
  }

  log(`\n${header()}`);
  for (const r of rows) log(fmtRow(r));
  /** The rclone run of the same route, case and round as engine row `e`. */
  const rcloneBeside = (e: Row) =>
    rows.find(
      r =>
        r.tool === 'rclone' &&
        r.route === e.route &&
        r.dataset === e.dataset &&
        r.round === e.round,
    );
  log(
    '\nratio engine / rclone (wall incl. validation/check; >1 = engine faster), copy-only ratio, RSS:',
  );
  for (const e of rows.filter(r => r.tool === 'engine')) {
    const rc = rcloneBeside(e);
    const cp = rows.find(r => r.tool === 'cp -r' && r.dataset === e.dataset);
    if (!rc) continue;
    if (rc.note && rc.ok) log(`  (${e.route} ${e.dataset} rclone: ${rc.note})`);
    log(
      `  ${e.route.padEnd(9)} ${e.dataset}  ${(rc.wall / e.wall).toFixed(
        2,
      )}×  (copy ${((rc.copy ?? NaN) / (e.copy ?? NaN)).toFixed(
        2,
      )}×, validate vs check ${((rc.check ?? NaN) / (e.check ?? NaN)).toFixed(
        2,
      )}×; RSS ${((e.peakRssMiB ?? NaN) / (rc.peakRssMiB ?? NaN)).toFixed(
        1,
      )}× rclone's; cp -r ${cp ? (cp.wall / e.wall).toFixed(2) : '-'}×)${
        e.ok ? '' : '  ENGINE FAILED'
      }${rc.ok ? '' : '  RCLONE FAILED'}`,
    );
  }
  if (ROUNDS > 1) {
    log(`\nmedian of ${ROUNDS} rounds (engine ÷ rclone, wall):`);
    for (const route of ROUTES) {
      for (const name of CASES) {
        const ratios = rows
          .filter(e => e.tool === 'engine' && e.route === route)
          .filter(e => e.dataset === name)
          .map(e => {
            const rc = rcloneBeside(e);
            return rc && e.ok && rc.ok ? rc.wall / e.wall : NaN;
          });
        if (ratios.length === 0) continue;
        log(
          `  ${route.padEnd(9)} ${name}  ${median(ratios).toFixed(
            2,
          )}×  (rounds: ${ratios.map(r => `${r.toFixed(2)}×`).join(', ')})`,
        );
      }
    }
  }
  log(`\nload average at the end: ${load()}`);
  log(`\nRESULTS_JSON ${JSON.stringify(rows)}`);
}

/** The median; NaN (a failed run) counts as the lowest. */
function median(values: number[]) {
  const sorted = values
    .map(v => (Number.isNaN(v) ? -Infinity : v))
    .sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const m =
    sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return Number.isFinite(m) ? m : NaN;
}

function header() {
  return [
    'route'.padEnd(9),
    'case',
    'tool'.padEnd(8),
    'objects'.padStart(7),
    'objects/s'.padStart(10),
    'MB/s'.padStart(7),
    'wall s'.padStart(8),
    'copy s'.padStart(7),
    'check s'.padStart(7),
    'peak RSS'.padStart(8),
    'stmts/obj'.padStart(9),
    'CPU s'.padStart(6),
    'servers CPU s'.padStart(13),
    'ok',
  ].join('  ');
}

function fmtRow(r: Row) {
  return [
    r.route.padEnd(9),
    r.dataset.padEnd(4),
    (ROUNDS > 1 && r.round ? `${r.tool} ${r.round}` : r.tool).padEnd(8),
    String(r.objects).padStart(7),
    (r.objects / r.wall).toFixed(1).padStart(10),
    (r.bytes / 1e6 / r.wall).toFixed(1).padStart(7),
    r.wall.toFixed(2).padStart(8),
    (r.copy?.toFixed(2) ?? '').padStart(7),
    (r.check?.toFixed(2) ?? '').padStart(7),
    (r.peakRssMiB !== undefined
      ? `${r.peakRssMiB.toFixed(0)} MiB`
      : ''
    ).padStart(8),
    (r.stmtsPerObject?.toFixed(1) ?? '').padStart(9),
    (r.cpu?.toFixed(1) ?? '').padStart(6),
    (r.serverCpu?.toFixed(1) ?? '').padStart(13),
    r.ok ? 'ok' : 'FAILED',
  ].join('  ');
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});

/*
 * Benchmark (not a test): local → local migrations through the real engine on
 * SQLite, next to `cp -r` of the same tree as the physical reference.
 *
 *   node -r @backstage/cli/config/nodeTransform.cjs bench/local-copy.ts
 *
 * Each engine run happens in its own child process so that VmHWM (the peak
 * resident set the kernel recorded) belongs to that case alone.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { ConfigReader } from '@backstage/config';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports
import * as engineModule from '../plugins/dataset-migration-backend/src/engine';

const MiB = 1024 * 1024;

type CaseName = 'small' | 'large' | 'large-stream' | 'huge-stream';
const CASES: Record<CaseName, { dir: string; label: string; stream: boolean }> =
  {
    small: { dir: 'small', label: '10,000 × 4 KiB', stream: false },
    large: { dir: 'large', label: '8 × 256 MiB', stream: false },
    'large-stream': { dir: 'large', label: '8 × 256 MiB', stream: true },
    'huge-stream': { dir: 'huge', label: '1 × 2 GiB', stream: true },
  };

interface Result {
  name: string;
  files: number;
  bytes: number;
  seconds: number;
  copySeconds: number;
  validateSeconds: number;
  peakRssMiB: number;
  vmHwmMiB: number;
}

function writeBig(file: string, size: number) {
  // Random blocks with a per-block counter: incompressible and never
  // repeating, without paying for `size` bytes of CSPRNG output.
  const block = randomBytes(8 * MiB);
  const fd = fs.openSync(file, 'w');
  for (let off = 0, n = 0; off < size; off += block.length, n++) {
    block.writeUInt32LE(n, 0);
    fs.writeSync(fd, block, 0, Math.min(block.length, size - off));
  }
  fs.closeSync(fd);
}

function generate(base: string) {
  const small = path.join(base, 'small');
  for (let i = 0; i < 10_000; i++) {
    const dir = path.join(small, `d${String(i % 100).padStart(2, '0')}`);
    if (i < 100) fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${i}.bin`), randomBytes(4096));
  }
  fs.mkdirSync(path.join(base, 'large'));
  for (let i = 0; i < 8; i++) {
    writeBig(path.join(base, 'large', `part-${i}.bin`), 256 * MiB);
  }
  fs.mkdirSync(path.join(base, 'huge'));
  writeBig(path.join(base, 'huge', 'one.bin'), 2048 * MiB);
}

function vmHwmMiB(): number {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** Child: one migration through the engine, prints a JSON result line. */
async function runCase(base: string, name: CaseName) {
  const spec = CASES[name];
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);

  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: path.join(base, `${name}.sqlite`) },
    useNullAsDefault: true,
  });
  const config = new ConfigReader({
    datasetMigration: {
      autoApprove: true,
      workers: { concurrency: 4, leaseSeconds: 60, pollIntervalMs: 100 },
      storage: { local: { roots: [base] } },
    },
  });
  const local = engineModule.createLocalStorageBackend(config);
  const backend = spec.stream
    ? {
        ...local,
        id: local.id,
        schemes: local.schemes,
        // Hide copyWithin so every byte streams through the engine's hashing.
        open: async (loc: any) => {
          const store = await local.open(loc);
          return Object.assign(Object.create(store), { copyWithin: undefined });
        },
      }
    : local;
  const silent = {
    debug() {},
    info() {},
    warn: (m: string) => process.stderr.write(`${m}\n`),
    error: (m: string) => process.stderr.write(`${m}\n`),
    child: () => silent,
  };
  const engine = await engineModule.createMigrationEngine({
    database: { getClient: async () => knex as any },
    logger: silent as any,
    config,
    backends: [backend as any],
  });
  const target = path.join(base, `out-${name}`);
  const actor = { ref: 'user:default/bench' };
  const started = performance.now();
  const m = await engine.create(
    {
      dataset: 'resource:default/bench',
      target: { location: `file://${target}` },
      strategy: 'bulk-copy',
    },
    {
      ref: 'resource:default/bench',
      location: `file://${path.join(base, spec.dir)}`,
      consumers: [],
    },
    actor,
  );
  await engine.start();
  for (;;) {
    const now = await engine.get(m.id);
    if (now && ['succeeded', 'rolled-back', 'failed'].includes(now.state)) {
      if (now.state !== 'succeeded') {
        throw new Error(`migration ended ${now.state}: ${now.reason}`);
      }
      break;
    }
    // What a UI polling a migration's progress would do.
    await new Promise(r => setTimeout(r, 500));
  }
  const seconds = (performance.now() - started) / 1000;
  const events = await engine.listEvents(m.id, { after: 0, limit: 1000 });
  const at = (step: string) =>
    Date.parse(
      events.find(e => e.type === 'step' && e.details?.step === step)
        ?.createdAt ?? '',
    );
  await engine.stop();
  clearInterval(sampler);
  await knex.destroy();
  const result: Result = {
    name,
    files: m.plan!.source.objectCount,
    bytes: m.plan!.source.totalBytes,
    seconds,
    copySeconds: (at('validate') - at('copy')) / 1000,
    validateSeconds: (at('cutover') - at('validate')) / 1000,
    peakRssMiB: peakRss / MiB,
    vmHwmMiB: vmHwmMiB(),
  };
  fs.rmSync(target, { recursive: true, force: true });
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

function child(base: string, name: CaseName): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [...process.execArgv, __filename, '--case', name, '--base', base],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.on('data', d => (out += d));
    p.on('exit', code => {
      const line = out.split('\n').find(l => l.startsWith('RESULT '));
      if (code !== 0 || !line) reject(new Error(`case ${name} failed: ${out}`));
      else resolve(JSON.parse(line.slice(7)));
    });
  });
}

function cpReference(base: string, dir: string) {
  const out = path.join(base, `cp-${dir}`);
  execFileSync('sync');
  const t = performance.now();
  execFileSync('cp', ['-r', path.join(base, dir), out]);
  execFileSync('sync');
  const seconds = (performance.now() - t) / 1000;
  fs.rmSync(out, { recursive: true, force: true });
  return seconds;
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--case') {
    await runCase(args[3], args[1] as CaseName);
    return;
  }
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-bench-'));
  try {
    console.log(
      `data under ${base}; ${os.cpus().length} CPUs, node ${process.version}`,
    );
    let t = performance.now();
    generate(base);
    console.log(
      `generated in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    const rows: string[] = [];
    const fmt = (r: Result, cp: number) => {
      const mb = r.bytes / 1e6;
      return [
        `${CASES[r.name as CaseName].label} (${
          r.name.endsWith('stream') ? 'streamed + sha256/md5' : 'copyFile'
        })`,
        `${r.seconds.toFixed(1)} s`,
        `${(r.files / r.seconds).toFixed(0)} files/s`,
        `${(mb / r.seconds).toFixed(0)} MB/s`,
        `copy ${r.copySeconds.toFixed(1)} s (${(mb / r.copySeconds).toFixed(
          0,
        )} MB/s)`,
        `validate ${r.validateSeconds.toFixed(1)} s`,
        `peak RSS ${r.peakRssMiB.toFixed(0)} MiB (VmHWM ${r.vmHwmMiB.toFixed(
          0,
        )})`,
        `cp -r ${cp.toFixed(1)} s (${(mb / cp).toFixed(0)} MB/s, ${(
          r.files / cp
        ).toFixed(0)} files/s)`,
      ].join(' | ');
    };
    const cp: Record<string, number> = {};
    for (const name of Object.keys(CASES) as CaseName[]) {
      const dir = CASES[name].dir;
      cp[dir] ??= cpReference(base, dir);
      t = performance.now();
      const r = await child(base, name);
      rows.push(fmt(r, cp[dir]));
      console.log(rows[rows.length - 1]);
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});

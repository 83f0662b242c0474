// Benchmark (not a test): S3 (s3rver) → local and S3 → GCS (the repo's GCS
// test server) through the storage backends, side by side with
// `rclone copy` + `rclone check` on the same servers and data.
//
//   bench/s3-copy.sh [--small-count 10000] [--large-count 8] [--large-mib 256]
//                    [--concurrency 16] [--datasets small,large] [--targets local,gcs]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ConfigReader } from '@backstage/config';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { S3StorageBackend } from '../plugins/dataset-migration-backend-module-s3/src/S3StorageBackend';
import { startS3rver } from '../plugins/dataset-migration-backend-module-s3/src/__testUtils__/s3rver';
import { generatedStream } from '../plugins/dataset-migration-node/src/testUtils/data';

const MiB = 1024 * 1024;
const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SMALL_COUNT = arg('small-count', 10_000);
const SMALL_BYTES = 4 * 1024;
const LARGE_COUNT = arg('large-count', 8);
const LARGE_BYTES = arg('large-mib', 256) * MiB;
const CONCURRENCY = arg('concurrency', 16);
const listArg = (name: string, fallback: string[]) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1].split(',') : fallback;
};
const DATASETS = listArg('datasets', ['small', 'large']);
const TARGETS = listArg('targets', ['local', 'gcs']);
const NODE = process.execPath;
const TS = ['-r', require.resolve('@backstage/cli/config/nodeTransform.cjs')];

interface Measured {
  tool: string;
  dataset: string;
  target: string;
  objects: number;
  bytes: number;
  copySeconds: number;
  checkSeconds: number;
  peakRssMiB: number;
  ok: boolean;
}

/** Runs a command under GNU time, returning stdout and peak RSS (MiB). */
function timed(command: string, argv: string[], env: NodeJS.ProcessEnv) {
  const started = process.hrtime.bigint();
  const result = spawnSync(
    '/usr/bin/time',
    ['-f', 'PEAK_RSS_KB %M', command, ...argv],
    {
      env,
      encoding: 'utf8',
      maxBuffer: 64 * MiB,
    },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rss = /PEAK_RSS_KB (\d+)/.exec(result.stderr ?? '');
  if (result.status !== 0) {
    process.stderr.write(result.stderr ?? '');
  }
  return {
    ok: result.status === 0,
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? '',
    seconds,
    peakRssMiB: rss ? Number(rss[1]) / 1024 : NaN,
  };
}

function hasRclone() {
  const r = spawnSync('rclone', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0] : undefined;
}

async function startGcs(buckets: string[]) {
  const child = spawn(
    NODE,
    [...TS, path.join(__dirname, 's3-copy-gcs-server.ts'), buckets.join(',')],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
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

async function seed(backend: S3StorageBackend) {
  const small = await backend.open(parseLocation('s3://bench-src/small'));
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < SMALL_COUNT) {
        const i = next++;
        const body = Buffer.alloc(SMALL_BYTES, `object ${i} `);
        await small.write(
          `part=${i % 16}/object-${String(i).padStart(6, '0')}.bin`,
          Readable.from([body]),
          {
            size: SMALL_BYTES,
          },
        );
      }
    }),
  );
  const large = await backend.open(parseLocation('s3://bench-src/large'));
  for (let i = 0; i < LARGE_COUNT; i++) {
    await large.write(`blob-${i}.bin`, generatedStream(LARGE_BYTES, i + 1), {
      size: LARGE_BYTES,
    });
  }
}

function row(m: Measured) {
  const mb = m.bytes / 1e6;
  return [
    m.tool.padEnd(8),
    m.dataset.padEnd(16),
    m.target.padEnd(6),
    String(m.objects).padStart(7),
    (m.objects / m.copySeconds).toFixed(1).padStart(10),
    (mb / m.copySeconds).toFixed(1).padStart(8),
    m.copySeconds.toFixed(1).padStart(8),
    m.checkSeconds.toFixed(1).padStart(8),
    m.peakRssMiB.toFixed(0).padStart(9),
    m.ok ? 'ok' : 'FAILED',
  ].join('  ');
}

async function main() {
  const rclone = hasRclone();
  if (!rclone) {
    process.stdout.write(
      'rclone not found: install it with `apt-get update && apt-get install -y rclone` (1.60) for the comparison; measuring the storage backends only.\n',
    );
  }
  const work = await fs.realpath(
    await fs.mkdtemp(path.join(os.tmpdir(), 'bench-s3-copy-')),
  );
  const s3rver = await startS3rver({ buckets: ['bench-src'] });
  const gcs = await startGcs(['bench-dst']);
  const env = { ...process.env, BENCH_LOCAL_ROOT: work };
  const results: Measured[] = [];
  try {
    const seeder = S3StorageBackend.fromConfig(
      new ConfigReader({
        datasetMigration: {
          storage: {
            s3: {
              endpoint: s3rver.endpoint,
              forcePathStyle: true,
              credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
            },
          },
        },
      }),
    );
    const seedStart = Date.now();
    await seed(seeder);
    seeder.destroy();
    process.stdout.write(
      `seeded ${SMALL_COUNT} × 4 KiB and ${LARGE_COUNT} × ${
        LARGE_BYTES / MiB
      } MiB into s3rver in ${((Date.now() - seedStart) / 1000).toFixed(1)} s\n`,
    );

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
    // aws-sdk-go v1 (rclone 1.60) refuses plain-http endpoints with it set.
    delete rcloneEnv.AWS_CA_BUNDLE;
    await fs.writeFile(rcloneEnv.RCLONE_CONFIG!, '');

    for (const dataset of DATASETS) {
      const label =
        dataset === 'small'
          ? `${SMALL_COUNT}×4KiB`
          : `${LARGE_COUNT}×${LARGE_BYTES / MiB}MiB`;
      for (const target of TARGETS) {
        const ours =
          target === 'local'
            ? `file://${work}/ours-${dataset}`
            : `gs://bench-dst/ours-${dataset}`;
        const run = timed(
          NODE,
          [
            ...TS,
            path.join(__dirname, 's3-copy-worker.ts'),
            `s3://bench-src/${dataset}`,
            ours,
            s3rver.endpoint,
            gcs.endpoint,
            String(CONCURRENCY),
          ],
          env,
        );
        const out = run.ok
          ? JSON.parse(run.stdout.trim().split('\n').pop()!)
          : {};
        results.push({
          tool: 'backends',
          dataset: label,
          target,
          objects: out.objects ?? 0,
          bytes: out.bytes ?? 0,
          copySeconds: out.copySeconds ?? NaN,
          checkSeconds: out.checkSeconds ?? NaN,
          peakRssMiB: run.peakRssMiB,
          ok: run.ok && out.mismatches === 0,
        });
        process.stdout.write(`${row(results[results.length - 1])}\n`);

        if (rclone) {
          const dst =
            target === 'local'
              ? `${work}/rclone-${dataset}`
              : `:gcs:bench-dst/rclone-${dataset}`;
          const common = ['--fast-list', '--checkers', String(CONCURRENCY)];
          const copy = timed(
            'rclone',
            [
              'copy',
              `:s3:bench-src/${dataset}`,
              dst,
              ...common,
              '--transfers',
              String(CONCURRENCY),
            ],
            rcloneEnv,
          );
          const check = timed(
            'rclone',
            ['check', `:s3:bench-src/${dataset}`, dst, ...common],
            rcloneEnv,
          );
          const last = results[results.length - 1];
          results.push({
            tool: 'rclone',
            dataset: label,
            target,
            objects: last.objects,
            bytes: last.bytes,
            copySeconds: copy.seconds,
            checkSeconds: check.seconds,
            peakRssMiB: Math.max(copy.peakRssMiB, check.peakRssMiB),
            ok: copy.ok && check.ok,
          });
          process.stdout.write(`${row(results[results.length - 1])}\n`);
        }
      }
    }
  } finally {
    await gcs.stop();
    await s3rver.stop();
    await fs.rm(work, { recursive: true, force: true });
  }

  process.stdout.write(
    `\n${[
      'tool'.padEnd(8),
      'dataset'.padEnd(16),
      'target',
      'objects'.padStart(7),
      'objects/s'.padStart(10),
      'MB/s'.padStart(8),
      'copy s'.padStart(8),
      'check s'.padStart(8),
      'peak RSS'.padStart(9),
    ].join('  ')}\n`,
  );
  for (const m of results) {
    process.stdout.write(`${row(m)}\n`);
  }
  if (rclone) {
    process.stdout.write(
      `\nratio backends / rclone (copy throughput, >1 = faster than rclone; ${rclone}):\n`,
    );
    for (let i = 0; i + 1 < results.length; i += 2) {
      const [a, b] = [results[i], results[i + 1]];
      process.stdout.write(
        `  ${a.dataset.padEnd(16)} → ${a.target.padEnd(6)} ${(
          b.copySeconds / a.copySeconds
        ).toFixed(2)}×  (check ${(b.checkSeconds / a.checkSeconds).toFixed(
          2,
        )}×, RSS ${(a.peakRssMiB / b.peakRssMiB).toFixed(1)}× rclone's)\n`,
      );
    }
  }
}

main().catch(error => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});

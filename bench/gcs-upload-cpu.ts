/**
 * CPU of GCS uploads alone: N objects of M MiB, all at once, written through
 * GcsObjectStore to the GCS test server (its own process, so its CPU is not
 * counted), with the chunks sent by chunkedUpload.ts (`fastUploads`, the
 * default) or by the client library's upload stream (FAST=0). The source
 * makes fresh 64 KiB buffers, as a socket does. Two rounds; prints wall and
 * this process's user / system CPU.
 *
 * With LISTED=1 each write is given the source's md5 (`WriteHints.expected`,
 * as a listing gives it) and with REREAD=1 also a way to re-read the source
 * (`WriteHints.reread`): chunkedUpload.ts then streams the source's buffers
 * to the requests instead of copying them into a chunk buffer.
 *
 *   bench/run-gcs-upload-cpu.sh            # 8 × 256 MiB
 *   FAST=0 CHUNK_MIB=16 N=8 MIB=256 bench/run-gcs-upload-cpu.sh
 *   LISTED=1 REREAD=1 bench/run-gcs-upload-cpu.sh
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ConfigReader } from '@backstage/config';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports
import { GcsStorageBackend } from '../plugins/dataset-migration-backend-module-gcs/src/GcsStorageBackend';

const MiB = 1024 * 1024;
const N = Number(process.env.N ?? 8);
const SIZE = Number(process.env.MIB ?? 256) * MiB;

/** `size` bytes in fresh 64 KiB buffers, from `start` (a multiple of 64 KiB) on. */
function source(size: number, start = 0) {
  let sent = start;
  return new Readable({
    highWaterMark: 64 * 1024,
    read() {
      const n = Math.min(64 * 1024, size - sent);
      if (n <= 0) {
        this.push(null);
        return;
      }
      sent += n;
      this.push(Buffer.allocUnsafe(n).fill(sent & 255));
    },
  });
}

async function main() {
  const server = spawn(
    process.execPath,
    [
      '-r',
      require.resolve('@backstage/cli/config/nodeTransform.cjs'),
      path.join(__dirname, 's3-copy-gcs-server.ts'),
      'bench-upload',
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>(resolve =>
    server.stdout!.on('data', d => {
      const m = /GCS_READY (\d+)/.exec(String(d));
      if (m) resolve(Number(m[1]));
    }),
  );
  const backend = GcsStorageBackend.fromConfig(
    new ConfigReader({
      datasetMigration: {
        storage: {
          gcs: {
            apiEndpoint: `http://127.0.0.1:${port}`,
            projectId: 'bench',
            fastUploads: process.env.FAST !== '0',
            ...(process.env.CHUNK_MIB && {
              resumableChunkMiB: Number(process.env.CHUNK_MIB),
            }),
          },
        },
      },
    }),
  );
  const store = await backend.open(parseLocation('gs://bench-upload/p'));
  let md5: string | undefined;
  if (process.env.LISTED === '1') {
    const hash = createHash('md5');
    for await (const b of source(SIZE)) hash.update(b as Buffer);
    md5 = hash.digest('hex');
  }
  const reread =
    process.env.REREAD === '1'
      ? async (start: number) => source(SIZE, start)
      : undefined;
  console.log(
    `${N} × ${SIZE / MiB} MiB, fastUploads ${process.env.FAST !== '0'}, chunk ${
      backend.options.resumableChunkBytes / MiB
    } MiB, listed md5 ${Boolean(md5)}, reread ${Boolean(reread)}`,
  );
  for (let round = 0; round < 2; round++) {
    const cpu = process.cpuUsage();
    const started = Date.now();
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        store.write(`o${i}`, source(SIZE), {
          size: SIZE,
          ...(md5 && { expected: { md5 } }),
          reread,
        }),
      ),
    );
    const used = process.cpuUsage(cpu);
    console.log(
      `round ${round + 1}: wall ${((Date.now() - started) / 1000).toFixed(
        2,
      )} s, CPU user ${(used.user / 1e6).toFixed(2)} s + system ${(
        used.system / 1e6
      ).toFixed(2)} s, RSS ${(process.memoryUsage().rss / MiB).toFixed(0)} MiB`,
    );
  }
  server.kill();
  process.exit(0);
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});

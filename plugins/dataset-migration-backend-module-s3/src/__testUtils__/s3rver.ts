import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A running s3rver child process on a free loopback port. */
export interface S3rverProcess {
  endpoint: string;
  port: number;
  /** The child's pid (benchmarks read its CPU time). */
  pid?: number;
  directory: string;
  stop(): Promise<void>;
}

/**
 * A self-signed certificate for 127.0.0.1 and its key (PEM file paths),
 * for tests only: trust `cert` to reach `startS3rver({ tls: true })`.
 */
export const TEST_TLS = {
  key: resolvePackagePath(
    '@internal/backstage-plugin-dataset-migration-backend-module-s3',
    'src/__testUtils__/tls/key.pem',
  ),
  cert: resolvePackagePath(
    '@internal/backstage-plugin-dataset-migration-backend-module-s3',
    'src/__testUtils__/tls/cert.pem',
  ),
};

/**
 * Starts s3rver in a child process (see s3rverChild.js for why) with the
 * given buckets, storing data in a fresh temp dir.
 */
export async function startS3rver(options: {
  buckets: string[];
  /** Serve HTTPS with the test-only pair in `tls/` (see {@link TEST_TLS}). */
  tls?: boolean;
  /** Where the data directory is made (default: the OS temp folder). */
  parentDir?: string;
}): Promise<S3rverProcess> {
  const directory = await fs.mkdtemp(
    path.join(options.parentDir ?? os.tmpdir(), 's3rver-'),
  );
  const child = spawn(
    process.execPath,
    [
      resolvePackagePath(
        '@internal/backstage-plugin-dataset-migration-backend-module-s3',
        'src/__testUtils__/s3rverChild.js',
      ),
      directory,
      JSON.stringify(options.buckets),
      ...(options.tls
        ? [JSON.stringify({ key: TEST_TLS.key, cert: TEST_TLS.cert })]
        : []),
    ],
    {
      env: {
        ...process.env,
        NODE_OPTIONS: '--openssl-legacy-provider',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', d => {
    stderr += d;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', d => {
      out += d;
      const m = /S3RVER_READY (\d+)/.exec(out);
      if (m) {
        resolve(Number(m[1]));
      }
    });
    child.once('exit', code =>
      reject(new Error(`s3rver exited with ${code}: ${stderr}`)),
    );
  });
  let stopping = false;
  child.once('exit', code => {
    if (!stopping) {
      // Say why every later request is refused.
      console.error(`s3rver exited unexpectedly with ${code}: ${stderr}`);
    }
  });
  return {
    endpoint: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    directory,
    async stop() {
      stopping = true;
      if (child.exitCode === null) {
        const exited = new Promise(r => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
}

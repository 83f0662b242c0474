import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { ChildProcess, spawn } from 'node:child_process';
import type { Entity } from '@backstage/catalog-model';

/** A backend process the test can kill like a crashing replica. */
export interface ChildBackend {
  url: string;
  /** SIGKILL: no shutdown hook, no cleanup, writes cut off mid-stream. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

function exited(child: ChildProcess) {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>(r => child.once('exit', () => r()));
}

/** Starts `backendChild.ts` with the plugin, S3 and GCS on a SQLite file. */
export async function startChildBackend(options: {
  sqliteFile: string;
  config: object;
  entities: Entity[];
}): Promise<ChildBackend> {
  const script = resolvePackagePath(
    '@internal/backstage-plugin-dataset-migration-backend-module-s3',
    'src/__testUtils__/backendChild.ts',
  );
  const child = spawn(
    process.execPath,
    [
      '--require',
      require.resolve('@backstage/cli/config/nodeTransform.cjs'),
      script,
      JSON.stringify(options),
    ],
    {
      env: { ...process.env, NODE_ENV: 'test' },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', d => {
    stderr = (stderr + d).slice(-4000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', d => {
      out += d;
      const m = /BACKEND_READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', code =>
      reject(new Error(`backend exited with ${code}: ${stderr}`)),
    );
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}

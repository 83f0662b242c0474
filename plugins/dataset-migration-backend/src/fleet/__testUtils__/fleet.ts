import path from 'node:path';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import knexFactory, { Knex } from 'knex';

/** A replica process the test can SIGKILL like a crashing machine. */
export interface Replica {
  pid: number;
  url: string;
  /** SIGKILL: no shutdown hook, no cleanup, writes cut off mid-stream. */
  kill(): Promise<void>;
  stop(): Promise<void>;
  readonly exited: boolean;
}

function exited(child: ChildProcess) {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>(r => child.once('exit', () => r()));
}

/** Every replica started, so afterAll can kill what is left. */
export const allReplicas: Replica[] = [];

export async function startReplica(options: {
  connection: string;
  config: object;
}): Promise<Replica> {
  const script = path.join(__dirname, 'replica.ts');
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
  const replica: Replica = {
    pid: child.pid!,
    url: '',
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
    },
    get exited() {
      return child.exitCode !== null || child.signalCode !== null;
    },
  };
  allReplicas.push(replica);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', d => {
      out += d;
      const m = /REPLICA_READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', code =>
      reject(new Error(`replica exited with ${code}: ${stderr}`)),
    );
  });
  replica.url = `http://127.0.0.1:${port}`;
  return replica;
}

/** A fresh PostgreSQL database for one test run, dropped by `drop`. */
export async function createFleetDatabase(base: string): Promise<{
  connection: string;
  knex: Knex;
  drop(): Promise<void>;
}> {
  const name = `dm_fleet_${randomBytes(4).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: base });
  await admin.raw(`create database ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const connection = url.toString();
  const knex = knexFactory({ client: 'pg', connection, pool: { max: 5 } });
  return {
    connection,
    knex,
    async drop() {
      await knex.destroy();
      await admin.raw(`drop database if exists ${name} with (force)`);
      await admin.destroy();
    },
  };
}

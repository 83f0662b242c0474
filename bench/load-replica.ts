/* eslint-disable no-console */
// One backend replica of bench/load.ts: a real Backstage backend
// (startTestBackend) with the dataset-migration plugin on the shared
// PostgreSQL database, local-filesystem storage, and an in-memory catalog
// holding the benchmark's dataset entities. Every knex statement is counted.
//
//   node -r @backstage/cli/config/nodeTransform.cjs bench/load-replica.ts <options.json>
//   options.json = { connection, config, entitiesFile }
//
// Prints `REPLICA_READY <port>`. Commands on stdin, one per line:
//   STATS → `STATS {json}` (statement counts since start, VmHWM, CPU seconds)
//   STOP  → stops the backend gracefully and exits
import fs from 'node:fs';
import { AddressInfo } from 'node:net';
import readline from 'node:readline';
import knexFactory from 'knex';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { InMemoryCatalogClient } from '@backstage/catalog-client/testUtils';
import {
  type CompoundEntityRef,
  type Entity,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import datasetMigrationPlugin from '@internal/backstage-plugin-dataset-migration-backend';

/** A statement's shape: literals and bindings out, so equal statements group. */
function shape(sql: string) {
  return sql
    .replace(/\s+/g, ' ')
    .replace(/'(?:[^']|'')*'/g, "'?'")
    .replace(/\$\d+/g, '?')
    .replace(/\b\d+\b/g, 'N')
    .replace(/\((?:\?, ?)+\?\)/g, '(?…)')
    .replace(/(?:\(\?…\), ?)+\(\?…\)/g, '(?…)…')
    .slice(0, 200);
}

async function main() {
  const { connection, config, entitiesFile, poolMax } = JSON.parse(
    fs.readFileSync(process.argv[2], 'utf8'),
  );
  const entities: Entity[] = JSON.parse(fs.readFileSync(entitiesFile, 'utf8'));
  const knex = knexFactory({
    client: 'pg',
    connection,
    pool: { min: 0, max: poolMax ?? 10 },
  });
  let total = 0;
  let trx = 0;
  const byShape = new Map<string, number>();
  const timeByShape = new Map<string, number>();
  const startedAt = new Map<string, { shape: string; t: bigint }>();
  knex.on('query', (q: { sql: string; __knexQueryUid?: string }) => {
    total++;
    if (/^\s*(begin|savepoint)/i.test(q.sql)) trx++;
    const s = shape(q.sql);
    byShape.set(s, (byShape.get(s) ?? 0) + 1);
    if (q.__knexQueryUid)
      startedAt.set(q.__knexQueryUid, { shape: s, t: process.hrtime.bigint() });
  });
  const done = (_r: unknown, q: { __knexQueryUid?: string }) => {
    const uid = q?.__knexQueryUid;
    const st = uid ? startedAt.get(uid) : undefined;
    if (!st) return;
    startedAt.delete(uid!);
    const ms = Number(process.hrtime.bigint() - st.t) / 1e6;
    timeByShape.set(st.shape, (timeByShape.get(st.shape) ?? 0) + ms);
  };
  knex.on('query-response', done);
  knex.on('query-error', (_e: unknown, q: { __knexQueryUid?: string }) =>
    done(undefined, q),
  );

  // The in-memory catalog builds a ref → entity map of every entity on each
  // getEntityByRef; with thousands of datasets that would be the benchmark's
  // own cost, so look refs up in a map built once.
  const catalog = new InMemoryCatalogClient({ entities });
  const byRef = new Map(entities.map(e => [stringifyEntityRef(e), e]));
  catalog.getEntityByRef = async (ref: string | CompoundEntityRef) =>
    byRef.get(
      stringifyEntityRef(typeof ref === 'string' ? parseEntityRef(ref) : ref),
    );

  const backend = await startTestBackend({
    features: [
      datasetMigrationPlugin,
      mockServices.database.factory({ knex }),
      mockServices.rootConfig.factory({ data: config }),
      createServiceFactory({
        service: catalogServiceRef,
        deps: {},
        factory: () => catalog as any,
      }),
    ],
  });
  const { port } = backend.server.address() as AddressInfo;
  console.log(`REPLICA_READY ${port} ${process.pid}`);

  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', async line => {
    const cmd = line.trim();
    if (cmd === 'STATS') {
      const status = fs.readFileSync('/proc/self/status', 'utf8');
      const kib = (k: string) =>
        Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
      const top = [...byShape.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 20)
        .map(([sql, n]) => ({
          n,
          ms: Math.round(timeByShape.get(sql) ?? 0),
          sql,
        }));
      const topTime = [...timeByShape.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 10)
        .map(([sql, ms]) => ({
          n: byShape.get(sql) ?? 0,
          ms: Math.round(ms),
          sql,
        }));
      const cpu = process.cpuUsage();
      console.log(
        `STATS ${JSON.stringify({
          statements: total,
          transactions: trx,
          top,
          topTime,
          vmHwmMiB: kib('VmHWM'),
          vmRssMiB: kib('VmRSS'),
          cpuSeconds: (cpu.user + cpu.system) / 1e6,
        })}`,
      );
    } else if (cmd === 'STOP') {
      await backend.stop().catch(e => console.error(e));
      await knex.destroy().catch(() => {});
      process.exit(0);
    }
  });
  // The parent holds our stdin open; when it dies, stdin ends and so do we.
  rl.on('close', () => process.exit(0));
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});

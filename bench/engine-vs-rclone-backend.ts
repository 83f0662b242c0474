/* eslint-disable no-console */
// The backend child of bench/engine-vs-rclone.ts: a real Backstage backend
// (startTestBackend) with the dataset-migration plugin and the S3 and GCS
// modules, on a SQLite *file*, with every knex statement counted.
//
//   node -r @backstage/cli/config/nodeTransform.cjs bench/engine-vs-rclone-backend.ts <json>
//   json = { sqliteFile, config, entities }
//
// Prints `BACKEND_READY <port>`. Commands on stdin, one per line:
//   STATS → `STATS {json}` (statement counts since the last RESET, VmHWM)
//   RESET → zeroes the counters
//   STOP  → stops the backend and exits (so --cpu-prof is written)
import fs from 'node:fs';
import { AddressInfo } from 'node:net';
import readline from 'node:readline';
import knexFactory from 'knex';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import datasetMigrationPlugin from '@internal/backstage-plugin-dataset-migration-backend';
import datasetMigrationModuleGcs from '@internal/backstage-plugin-dataset-migration-backend-module-gcs';
import datasetMigrationModuleS3 from '@internal/backstage-plugin-dataset-migration-backend-module-s3';

/** A statement's shape: literals and bindings out, so equal statements group. */
function shape(sql: string) {
  return sql
    .replace(/\s+/g, ' ')
    .replace(/'(?:[^']|'')*'/g, "'?'")
    .replace(/\b\d+\b/g, 'N')
    .replace(/\((?:\?, ?)+\?\)/g, '(?…)')
    .replace(/(?:\(\?…\), ?)+\(\?…\)/g, '(?…)…')
    .slice(0, 160);
}

async function main() {
  const { sqliteFile, config, entities } = JSON.parse(process.argv[2]);
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: sqliteFile },
    useNullAsDefault: true,
  });
  let total = 0;
  let byVerb: Record<string, number> = {};
  let byShape = new Map<string, { n: number; ms: number }>();
  let trx = 0;
  // better-sqlite3 answers synchronously: from 'query' to its response is
  // the statement's time on the main thread (SQLite and knex).
  const started = new Map<string, [string, number]>();
  const ended = (q: { __knexQueryUid?: string }) => {
    const at = started.get(q.__knexQueryUid ?? '');
    if (!at) return;
    started.delete(q.__knexQueryUid!);
    const entry = byShape.get(at[0]);
    if (entry) entry.ms += performance.now() - at[1];
  };
  knex.on(
    'query',
    (q: { sql: string; method?: string; __knexQueryUid?: string }) => {
      total++;
      const verb = (/^\s*(\w+)/.exec(q.sql)?.[1] ?? '?').toLowerCase();
      byVerb[verb] = (byVerb[verb] ?? 0) + 1;
      if (verb === 'begin' || /^\s*savepoint/i.test(q.sql)) trx++;
      const s = shape(q.sql);
      const entry = byShape.get(s) ?? { n: 0, ms: 0 };
      entry.n++;
      byShape.set(s, entry);
      if (q.__knexQueryUid)
        started.set(q.__knexQueryUid, [s, performance.now()]);
    },
  );
  knex.on('query-response', (_r: unknown, q: any) => ended(q));
  knex.on('query-error', (_e: unknown, q: any) => ended(q));
  const backend = await startTestBackend({
    features: [
      datasetMigrationPlugin,
      datasetMigrationModuleS3,
      datasetMigrationModuleGcs,
      mockServices.database.factory({ knex }),
      mockServices.rootConfig.factory({ data: config }),
      catalogServiceMock.factory({ entities }),
    ],
  });
  const { port } = backend.server.address() as AddressInfo;
  console.log(`BACKEND_READY ${port}`);
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', async line => {
    const cmd = line.trim();
    if (cmd === 'RESET') {
      total = 0;
      trx = 0;
      byVerb = {};
      byShape = new Map();
      console.log('RESET_OK');
    } else if (cmd === 'STATS') {
      const status = fs.readFileSync('/proc/self/status', 'utf8');
      const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
      const top = [...byShape.entries()]
        .sort((a, b) => b[1].ms - a[1].ms)
        .slice(0, 15)
        .map(([sql, { n, ms }]) => ({ n, ms, sql }));
      console.log(
        `STATS ${JSON.stringify({
          statements: total,
          transactions: trx,
          byVerb,
          top,
          vmHwmMiB: hwm,
          cpuSeconds:
            (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
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

import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports
import { openDuckDb, connect, openSource } from '../plugins/dataset-migration-backend/src/transform/transformFile';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports
import { buildTransformSql, copyOptions, outputColumn, literal } from '../plugins/dataset-migration-backend/src/transform/sql';
import { generateOrdersCsv, ORDERS_MAPPING } from './orders-csv';

function hwm() {
  const s = fs.readFileSync('/proc/self/status', 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(s)![1]) / 1024;
}

async function child(mode: string, input: string, fmt: 'parquet' | 'csv') {
  const db = await openDuckDb({ threads: 2, memoryLimit: process.env.ML ?? '512MB' });
  const conn = await connect(db);
  if (process.env.PIO) await conn.run(`SET preserve_insertion_order = false`);
  const out = path.join(path.dirname(input), `out-${mode}.${fmt}`);
  const { from, schema } = await openSource(conn, input, 'csv');
  const sql = buildTransformSql(ORDERS_MAPPING as any, schema);
  const outer = sql.targetSchema.map(c => outputColumn(c, fmt)).join(', ');
  const t0 = Date.now();
  const keyHash = `hash(${sql.exprs.join(', ')})`;
  if (mode === 'current') {
    await conn.run(`CREATE TEMP TABLE st AS SELECT count(*) t, count(*) FILTER (WHERE ${sql.bad}) b, count(*) FILTER (WHERE NOT (${sql.bad}) AND NOT (${sql.keep})) f, min_by({${schema.map(c => `'${c.name}': "${c.name}"`).join(', ')}}, ${keyHash}, 20) FILTER (WHERE NOT (${sql.bad}) AND (${sql.keep})) s FROM ${from}`);
    const t1 = Date.now();
    await conn.run(`COPY (SELECT ${outer} FROM (SELECT ${sql.select.join(', ')} FROM ${from} WHERE NOT (${sql.bad}) AND (${sql.keep}))) TO ${literal(out)} ${copyOptions(fmt)}`);
    console.log(JSON.stringify({ mode, fmt, agg: t1 - t0, copy: Date.now() - t1, total: Date.now() - t0, hwm: hwm() }));
  } else if (mode === 'temp') {
    await conn.run(`CREATE TEMP TABLE m AS SELECT ${sql.select.join(', ')}, (${sql.bad}) AS __bad, (${sql.keep}) AS __keep, ${keyHash} AS __h FROM ${from}`);
    const t1 = Date.now();
    await conn.run(`COPY (SELECT ${outer} FROM m WHERE NOT __bad AND __keep) TO ${literal(out)} ${copyOptions(fmt)}`);
    const t2 = Date.now();
    await conn.runAndReadAll(`SELECT count(*), count(*) FILTER (WHERE __bad), count(*) FILTER (WHERE NOT __bad AND NOT __keep) FROM m`);
    await conn.runAndReadAll(`SELECT * FROM m WHERE NOT __bad AND __keep ORDER BY __h LIMIT 20`);
    console.log(JSON.stringify({ mode, fmt, mat: t1 - t0, copy: t2 - t1, agg: Date.now() - t2, total: Date.now() - t0, hwm: hwm() }));
  } else if (mode === 'bare') {
    await conn.run(`COPY (SELECT * FROM ${from}) TO ${literal(out)} ${copyOptions(fmt)}`);
    console.log(JSON.stringify({ mode, fmt, total: Date.now() - t0, hwm: hwm() }));
  } else if (mode === 'copyonly') {
    await conn.run(`COPY (SELECT ${outer} FROM (SELECT ${sql.select.join(', ')} FROM ${from} WHERE NOT (${sql.bad}) AND (${sql.keep}))) TO ${literal(out)} ${copyOptions(fmt)}`);
    const t1 = Date.now();
    await conn.runAndReadAll(`SELECT count(*) FROM ${from}`);
    console.log(JSON.stringify({ mode, fmt, copy: t1 - t0, count: Date.now() - t1, total: Date.now() - t0, hwm: hwm() }));
  }
  fs.rmSync(out, { force: true });
}

async function main() {
  if (process.argv[2] === 'child') {
    await child(process.argv[3], process.argv[4], process.argv[5] as any);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zz-'));
  for (const rows of (process.env.ROWS ?? '1000000,3000000').split(',').map(Number)) {
    const input = path.join(dir, `orders-${rows}.csv`);
    generateOrdersCsv(input, rows);
    for (const fmt of ['parquet', 'csv']) {
      for (const mode of (process.env.MODES ?? 'bare,current,temp,copyonly').split(',')) {
        const r = spawnSync(process.execPath, ['-r', '@backstage/cli/config/nodeTransform.cjs', __filename, 'child', mode, input, fmt], { encoding: 'utf8' });
        process.stdout.write(`${rows} ${r.stdout.trim()} ${r.stderr.slice(0, 300)}\n`);
      }
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
main();

/*
 * Benchmark (not a test): the transform stage's DuckDB work on one local
 * 1,000,000-row CSV (int64 ids beyond 2^53, ISO timestamps with offsets and
 * µs, decimal(12,2), empty fields, quoted commas / quotes / newlines,
 * unicode), next to DuckDB's bare `COPY … TO` of the same file.
 *
 *   bench/run-transform-file.sh [rows]
 *
 * It measures transformFile() alone (counting pass + COPY), not the whole
 * engine: reading from and writing to a store and the validation are not
 * in these numbers yet.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports
import {
  connect,
  openDuckDb,
  transformFile,
} from '../plugins/dataset-migration-backend/src/transform/transformFile';
import { generateOrdersCsv, ORDERS_MAPPING as mapping } from './orders-csv';

const rows = Number(process.argv[2] ?? 1_000_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-bench-transform-'));
const input = path.join(dir, 'orders.csv');

async function main() {
  const t0 = Date.now();
  generateOrdersCsv(input, rows);
  const size = fs.statSync(input).size;
  console.log(
    `generated ${rows} rows, ${(size / 1e6).toFixed(1)} MB in ${
      Date.now() - t0
    } ms`,
  );
  const db = await openDuckDb({
    threads: 2,
    memoryLimit: '256MB',
    tempDirectory: dir,
  });
  const conn = await connect(db);
  for (const target of ['parquet', 'csv'] as const) {
    let t = Date.now();
    await conn.run(
      `COPY (SELECT TRY_CAST(id AS BIGINT) AS order_id, customer, TRY_CAST(amount AS DECIMAL(12,2)) AS amount, TRY_CAST(created AS TIMESTAMPTZ) AS created_at, status, note FROM read_csv('${input}', header = true, all_varchar = true) WHERE status <> 'cancelled') TO '${dir}/bare.${target}' ${
        target === 'parquet'
          ? '(FORMAT parquet, COMPRESSION snappy)'
          : '(FORMAT csv, HEADER true)'
      }`,
    );
    const bare = (Date.now() - t) / 1000;
    t = Date.now();
    const result = await transformFile(conn, {
      key: 'orders.csv',
      input,
      sourceFormat: 'csv',
      output: `${dir}/out.${target}`,
      targetFormat: target,
      mapping,
    });
    const ours = (Date.now() - t) / 1000;
    console.log(
      `CSV → ${target}: bare COPY ${Math.round(
        rows / bare,
      ).toLocaleString()} rows/s (${bare.toFixed(
        2,
      )} s) · transformFile ${Math.round(
        rows / ours,
      ).toLocaleString()} rows/s (${ours.toFixed(2)} s, ${
        result.written
      } written, ${result.filtered} filtered) · ratio ${(bare / ours).toFixed(
        2,
      )}×`,
    );
  }
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  console.log(`peak RSS (VmHWM): ${status.match(/VmHWM:\s+(\d+)/)?.[1]} kB`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});

/*
 * Shared by the transform benchmarks: a generated orders CSV and the mapping
 * they run on it.
 */
import fs from 'node:fs';

/**
 * Writes `rows` orders: int64 ids beyond 2^53, ISO timestamps with offsets
 * and µs, decimals, empty fields, quoted commas / quotes / newlines, unicode.
 */
export function generateOrdersCsv(file: string, rows: number): void {
  const out = fs.openSync(file, 'w');
  fs.writeSync(out, 'id,customer,amount,created,status,note,internal\n');
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    const id = 9007199254740993n + BigInt(i);
    const note =
      i % 10 === 0
        ? '"line one\nline ""two"", with comma"'
        : i % 7 === 0
        ? ''
        : `Zoë ${i}`;
    const ts = `2026-01-${String((i % 28) + 1).padStart(
      2,
      '0',
    )}T12:34:56.${String(i % 1_000_000).padStart(6, '0')}+0${i % 10}:00`;
    chunk += `${id},c${i % 5000},${(i % 100000) / 100 + 0.01},${ts},${
      i % 13 === 0 ? 'cancelled' : 'open'
    },${note},x\n`;
    if (chunk.length > 1 << 20) {
      fs.writeSync(out, chunk);
      chunk = '';
    }
  }
  fs.writeSync(out, chunk);
  fs.closeSync(out);
}

/** Rename + bigint / decimal(12,2) / timestamp casts, one drop, one filter. */
export const ORDERS_MAPPING = {
  fields: [
    { from: 'id', to: 'order_id', cast: 'bigint' },
    { to: 'amount', cast: 'decimal(12,2)' },
    { from: 'created', to: 'created_at', cast: 'timestamp' },
  ],
  drop: ['internal'],
  filter: [{ column: 'status', op: 'ne' as const, value: 'cancelled' }],
};

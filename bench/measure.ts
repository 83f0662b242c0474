/*
 * Measurements of bench/transform-engine.ts: CPU time and VmHWM of a
 * process; where the time of an engine run goes (every DuckDB statement and
 * every store stream, timed and labelled) and a sampled RSS over them.
 */
import fs from 'node:fs';
import { DuckDBConnection } from '@duckdb/node-api';

/** CPU seconds (user + system, all threads) since `since`. */
export function cpuOf(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1e6;
}

/** The peak resident set the kernel recorded for this process. */
export function vmHwmMiB(): number {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

export interface Span {
  label: string;
  start: number;
  end: number;
}

export const spans: Span[] = [];

export function timed<T>(label: string, p: Promise<T>): Promise<T> {
  const start = Date.now();
  return p.finally(() => spans.push({ label, start, end: Date.now() }));
}

function sqlLabel(sql: string): string | undefined {
  if (/^\s*SET /.test(sql)) return undefined;
  if (/^\s*DESCRIBE/.test(sql)) return 'DESCRIBE (sniff)';
  if (/AS total/.test(sql)) return 'DuckDB aggregate pass (counts + sample)';
  if (/^\s*COPY/.test(sql)) return 'DuckDB COPY';
  if (/ORDER BY hash\(/.test(sql)) return 'DuckDB sample (map the kept rows)';
  if (/__dm_h IN/.test(sql))
    return 'DuckDB read-back scan (rows, unreadable, sample)';
  return 'DuckDB other';
}

/** Times every statement of every connection (they all go through `run`). */
export function timeDuckDb() {
  const run = DuckDBConnection.prototype.run;
  DuckDBConnection.prototype.run = function patched(sql, ...rest) {
    const label = sqlLabel(sql);
    const p = run.call(this, sql, ...rest);
    return label ? timed(label, p) : p;
  };
}

/** A store backend whose reads (until the stream closes) and writes are timed. */
export function timedBackend<B extends { open(loc: any): Promise<any> }>(
  backend: B,
): B {
  return {
    ...backend,
    open: async (loc: any) => {
      const store = await backend.open(loc);
      const timedRead = async (key: string, ...rest: unknown[]) => {
        const start = Date.now();
        const body = await store.read(key, ...rest);
        body.once('close', () =>
          spans.push({ label: 'store read + hash', start, end: Date.now() }),
        );
        return body;
      };
      const timedWrite = (key: string, body: any, opts: any) =>
        timed('store write + hash', store.write(key, body, opts));
      // A proxy, not Object.create: the engine still sees the store's class
      // (a local store is written in place) and its methods run on the
      // store itself (private fields).
      return new Proxy(store, {
        get(target, prop) {
          if (prop === 'read') return timedRead;
          if (prop === 'write') return timedWrite;
          const value = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    },
  };
}

const samples: Array<[at: number, rss: number]> = [];

/** Samples RSS every 20 ms; `stop()` says when it peaked and what ran then. */
export function sampleRss() {
  const timer = setInterval(
    () => samples.push([Date.now(), process.memoryUsage.rss()]),
    20,
  );
  return {
    stop() {
      clearInterval(timer);
      const [at] = samples.reduce((a, b) => (b[1] > a[1] ? b : a), [0, 0]);
      const during = spans.filter(s => s.start <= at && at <= s.end);
      return { at, labels: during.map(s => s.label).join(' + ') };
    },
  };
}

/**
 * Seconds and highest sampled RSS (MiB) per `phase: label`, the phase by
 * the span's start.
 */
export function breakdown(phaseOf: (t: number) => string) {
  const out: Record<string, { seconds: number; rssMiB: number }> = {};
  for (const s of spans) {
    const key = `${phaseOf(s.start)}: ${s.label}`;
    const entry = (out[key] ??= { seconds: 0, rssMiB: 0 });
    entry.seconds += (s.end - s.start) / 1000;
    for (const [at, rss] of samples) {
      if (at >= s.start && at <= s.end) {
        entry.rssMiB = Math.max(entry.rssMiB, rss / 1024 / 1024);
      }
    }
  }
  return out;
}

import os from 'node:os';
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { createSpillArea } from './spill';
import { connect, openDuckDb } from './transformFile';

export interface TransformRuntimeOptions {
  threads: number;
  memoryLimit: string;
  spillDirectory?: string;
  /** DuckDB jobs (a transform, a read-back) run at once; default 2. */
  jobs?: number;
}

/**
 * This replica's embedded DuckDB, opened on first use and shared by every
 * worker (its memory limit bounds them all), plus the spill folder objects
 * pass through. A bulk-copy-only replica never loads DuckDB.
 */
export class TransformRuntime {
  private db?: Promise<DuckDBInstance>;
  readonly spillBase: string;
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly options: TransformRuntimeOptions) {
    this.spillBase =
      options.spillDirectory ?? path.join(os.tmpdir(), 'dataset-migration');
  }

  instance(): Promise<DuckDBInstance> {
    this.db ??= openDuckDb({
      threads: this.options.threads,
      memoryLimit: this.options.memoryLimit,
      tempDirectory: path.join(this.spillBase, 'duckdb'),
    });
    this.db.catch(() => {
      this.db = undefined;
    });
    return this.db;
  }

  /** Runs `fn` with a fresh connection and a private spill folder, both removed after. */
  async withSpill<T>(
    fn: (
      conn: DuckDBConnection,
      spill: Awaited<ReturnType<typeof createSpillArea>>,
    ) => Promise<T>,
  ): Promise<T> {
    const conn = await connect(await this.instance());
    const spill = await createSpillArea(this.spillBase);
    try {
      return await fn(conn, spill);
    } finally {
      conn.closeSync();
      await spill.dispose();
    }
  }

  /**
   * Runs one DuckDB job (`transformFile`, `checkTarget`) when fewer than
   * `jobs` run: each uses all of DuckDB's threads, and DuckDB's memory
   * outside its buffer pool (CSV readers, Parquet row groups being written)
   * grows with every query at once: three concurrent `COPY`s of 1 M rows
   * peaked ~200 MiB above one. Spilling, hashing and uploads stay outside.
   */
  async job<T>(fn: () => Promise<T>): Promise<T> {
    const limit = this.options.jobs ?? 2;
    if (this.running >= limit) {
      await new Promise<void>(resolve => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }

  async close() {
    const db = this.db;
    this.db = undefined;
    (await db?.catch(() => undefined))?.closeSync();
  }
}

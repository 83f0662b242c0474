import {
  closeSync,
  fstatSync,
  openSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import type { ByteRange } from '@internal/backstage-plugin-dataset-migration-node';
import { assertRealInside } from './paths';

/**
 * Whole small bodies are written, and small objects read and looked up,
 * with synchronous calls on the calling thread: an async `fs` call is a
 * thread-pool round trip that cost the main thread 50–100 µs on a busy
 * machine, and a small write took five of them (`stat`, `open`, `write`,
 * `close`, `rename`); synchronously they cost the system calls alone,
 * ~40 µs together on a local disk (bench/README.md, "Small local files,
 * synchronously"). A disk too slow for that (a network mount, a saturated
 * device) turns it off: see {@link SyncFileGuard}.
 */
export const SMALL_FILE_BYTES = 64 * 1024;

/** A synchronous call this slow is a slow one (a small write: ~40 µs). */
const SLOW_MS = 2;
/** Calls of a kind looked at together: most of them slow is a slow disk. */
const WINDOW = 32;
/** How long synchronous calls stay off for a slow disk before a retry. */
const OFF_MS = 60_000;

/** Reads and writes are timed apart: a mount may cache one, not the other. */
export type SyncCallKind = 'read' | 'write';

/**
 * Times the synchronous calls made on one local root, which block the
 * event loop while they run. When more than half of the last
 * {@link WINDOW} reads, or writes, took over {@link SLOW_MS} (a network
 * mount, a saturated device), that root's calls are asynchronous for
 * {@link OFF_MS}. Single slow calls do not count: on a busy machine the
 * thread is often descheduled in the middle of one.
 */
export class SyncFileGuard {
  readonly #recent: Record<SyncCallKind, number[]> = { read: [], write: [] };
  #offUntil = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  get allowed(): boolean {
    return this.now() >= this.#offUntil;
  }

  /** Runs `call` synchronously and times it. */
  run<T>(kind: SyncCallKind, call: () => T): T {
    const start = this.now();
    try {
      return call();
    } finally {
      this.#record(kind, this.now() - start);
    }
  }

  #record(kind: SyncCallKind, ms: number) {
    const recent = this.#recent[kind];
    recent.push(ms);
    if (recent.length < WINDOW) return;
    const slow = recent.filter(t => t > SLOW_MS).length;
    recent.length = 0;
    if (slow > WINDOW / 2) this.#offUntil = this.now() + OFF_MS;
  }
}

const guards = new Map<string, SyncFileGuard>();

/** The guard of a local root (one per root, for the process's life). */
export function syncFileGuard(rootDir: string): SyncFileGuard {
  let guard = guards.get(rootDir);
  if (!guard) {
    guard = new SyncFileGuard();
    guards.set(rootDir, guard);
  }
  return guard;
}

/**
 * `data` into a new file at `temp`, renamed to `full`; the temp file is
 * removed when anything fails. No fsync: the rename already gives readers
 * and a crashed process the old or the new object.
 */
export function writeWholeSync(full: string, temp: string, data: Uint8Array) {
  const fd = openSync(temp, 'wx');
  try {
    try {
      let done = 0;
      while (done < data.length) {
        done += writeSync(fd, data, done, data.length - done);
      }
    } finally {
      closeSync(fd);
    }
    renameSync(temp, full);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
}

/**
 * The bytes of the object at `full` (of `key` in `dir`; its real path
 * checked to lie inside) when it is a file of up to
 * {@link SMALL_FILE_BYTES}, read with synchronous calls; `undefined` when
 * it is larger, missing or no file (the caller reads it the asynchronous
 * way, which also says what is wrong).
 */
export function readWholeSync(
  dir: string,
  key: string,
  full: string,
  range?: ByteRange,
): Buffer | undefined {
  let fd: number;
  try {
    assertRealInside(dir, key, realpathSync(full));
    fd = openSync(full, 'r');
  } catch (e: any) {
    if (e?.code === 'ENOENT' || e?.code === 'ENOTDIR') return undefined;
    throw e;
  }
  try {
    const st = fstatSync(fd);
    // A folder at the key is the asynchronous read's to refuse.
    if (!st.isFile() || st.size > SMALL_FILE_BYTES) return undefined;
    const { size } = st;
    const start = Math.min(range?.start ?? 0, size);
    const end = Math.min(range ? range.end + 1 : size, size);
    const bytes = Buffer.allocUnsafe(Math.max(0, end - start));
    let done = 0;
    while (done < bytes.length) {
      const read = readSync(fd, bytes, done, bytes.length - done, start + done);
      if (read === 0) break;
      done += read;
    }
    return bytes.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

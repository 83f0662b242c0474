import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Knex } from 'knex';
import { ConfigReader } from '@backstage/config';
import type {
  DatabaseService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import type {
  MigrationEvent,
  MigrationState,
} from '@internal/backstage-plugin-dataset-migration-common';
import type {
  ObjectInfo,
  ObjectStore,
  StorageBackend,
} from '@internal/backstage-plugin-dataset-migration-node';
import { createLocalStorageBackend } from '../../storage/local/LocalStorageBackend';
import { createMigrationEngine } from '../MigrationEngine';
import type { MigrationEngine, MigrationEngineHooks } from '../types';
import type { DatasetInfo } from '../../service/types';

/** Logs warnings and errors only when DM_DEBUG is set. */
export const quietLogger: LoggerService = {
  debug() {},
  info() {},
  warn(message) {
    if (process.env.DM_DEBUG) console.warn(message);
  },
  error(message) {
    if (process.env.DM_DEBUG) console.error(message);
  },
  child: () => quietLogger,
};

export const actor = { ref: 'user:default/tester' };

export function databaseService(knex: Knex): DatabaseService {
  return { getClient: async () => knex, migrations: { skip: false } };
}

export async function tempRoot(): Promise<string> {
  return fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'dm-test-')));
}

export async function writeFile(
  root: string,
  key: string,
  data: Buffer | string,
) {
  const full = path.join(root, ...key.split('/'));
  await fs.mkdir(path.dirname(full), { recursive: true });
  await fs.writeFile(full, data);
}

/**
 * A few hundred files of mixed sizes: empty files, unicode names, spaces,
 * deep folders and a few MiB-sized objects.
 */
export async function makeMixedTree(
  root: string,
  count = 200,
): Promise<string[]> {
  const keys: string[] = [];
  const add = async (key: string, data: Buffer) => {
    await writeFile(root, key, data);
    keys.push(key);
  };
  await add('empty.bin', Buffer.alloc(0));
  await add('nested/empty too.txt', Buffer.alloc(0));
  await add('ünïcødé/数据/файл 1.csv', Buffer.from('a,b\n1,2\n'));
  await add('with spaces/and (parens) & more.txt', Buffer.from('spaces'));
  await add('a/b/c/d/e/f/g/h/deep.ndjson', Buffer.from('{"x":1}\n'));
  for (let i = 0; i < 3; i++) {
    await add(`large/blob-${i}.bin`, randomBytes((2 + i) * 1024 * 1024 + i));
  }
  for (let i = keys.length; i < count; i++) {
    await add(
      `part=${i % 7}/day ${i % 5}/file-${i}.dat`,
      randomBytes(Math.floor((i * 7919) % 20000)),
    );
  }
  return keys;
}

/** sha256 of every file under `root`, hidden ones included. */
/** Every file under `dir` (none when it is missing), relative, sorted. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs
    .readdir(dir, { recursive: true, withFileTypes: true })
    .catch(() => []);
  return entries
    .filter(e => e.isFile())
    .map(e => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

export async function hashTree(
  root: string,
  options: { skipBackups?: boolean } = {},
): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  async function walk(dir: string, rel: string) {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (e: any) {
      if (e.code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (options.skipBackups && r === '.dataset-migration-backups') continue;
      if (e.isDirectory()) await walk(path.join(dir, e.name), r);
      else {
        result[r] = createHash('sha256')
          .update(await fs.readFile(path.join(dir, e.name)))
          .digest('hex');
      }
    }
  }
  await walk(root, '');
  return result;
}

/** Wraps a backend to observe and disturb writes to object stores. */
export class WrappingBackend implements StorageBackend {
  readonly schemes: readonly string[];
  readonly id: string;
  /** Completed or attempted writes per `uri|key`. */
  readonly writes = new Map<string, number>();
  /** Attempted part writes per `uri|key|part`. */
  readonly partWrites = new Map<string, number>();
  readonly intervals: Array<{
    key: string;
    start: number;
    end: number;
    tag: string;
  }> = [];
  active = new Set<string>();

  constructor(
    private readonly inner: StorageBackend,
    private readonly options: {
      tag?: string;
      noServerSideCopy?: boolean;
      writeDelayMs?: number;
      /** Called as each write starts; a returned promise holds the write. */
      onWrite?: (key: string) => void | Promise<unknown>;
      /** Throw this (or nothing) before the n-th (1-based) write of a key. */
      failWrite?: (key: string, attempt: number) => Error | undefined;
      /**
       * Keys whose md5 `list` and `stat` report (hashed from the file), as
       * a store that keeps checksums would.
       */
      md5For?: (key: string) => boolean;
      /** With `md5For`: only `stat` reports md5s, `list` does not (as S3 lists no CRC32C). */
      md5OnStatOnly?: boolean;
      /** Hide the store's parted writes (large objects in one stream). */
      noParts?: boolean;
      /** Called as each read starts; a returned promise holds it, a thrown error fails it. */
      onRead?: (
        key: string,
        range: { start: number; end?: number } | undefined,
      ) => void | Promise<unknown>;
      /**
       * Called as each part write starts (1-based attempt per part); a
       * returned promise holds it, a thrown error fails it.
       */
      onPart?: (
        key: string,
        part: number,
        attempt: number,
      ) => void | Promise<unknown>;
    } = {},
  ) {
    this.id = inner.id;
    this.schemes = inner.schemes;
  }

  async open(location: any): Promise<ObjectStore> {
    return this.wrap(await this.inner.open(location));
  }

  async openBackupArea(target: any, migrationId: string) {
    return this.wrap(await this.inner.openBackupArea!(target, migrationId));
  }

  private wrap(store: ObjectStore): ObjectStore {
    const writes = this.writes;
    const active = this.active;
    const intervals = this.intervals;
    const opts = this.options;
    const track = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
      const id = `${store.location.uri}|${key}`;
      const attempt = (writes.get(id) ?? 0) + 1;
      writes.set(id, attempt);
      await opts.onWrite?.(key);
      const error = opts.failWrite?.(key, attempt);
      if (error) throw error;
      const start = performance.now();
      active.add(id);
      try {
        if (opts.writeDelayMs) {
          await new Promise(r => setTimeout(r, opts.writeDelayMs));
        }
        return await fn();
      } finally {
        active.delete(id);
        intervals.push({
          key: id,
          start,
          end: performance.now(),
          tag: opts.tag ?? '',
        });
      }
    };
    const withMd5 = async <T extends ObjectInfo | undefined>(info: T) => {
      if (!info || !opts.md5For?.(info.key)) return info;
      const hash = createHash('md5');
      for await (const chunk of await store.read(info.key)) hash.update(chunk);
      return {
        ...info,
        checksums: { ...info.checksums, md5: hash.digest('hex') },
      };
    };
    const wrapped: ObjectStore & { inner: ObjectStore } = {
      inner: store,
      location: store.location,
      backendId: store.backendId,
      capabilities: opts.md5For
        ? { ...store.capabilities, checksums: ['md5'] }
        : store.capabilities,
      list:
        opts.md5For && !opts.md5OnStatOnly
          ? async function* listWithMd5(o) {
              for await (const info of store.list(o)) yield await withMd5(info);
            }
          : o => store.list(o),
      stat: async k => withMd5(await store.stat(k)),
      read: async (k, r) => {
        await opts.onRead?.(k, r);
        return store.read(k, r);
      },
      delete: k => store.delete(k),
      captureRootState: store.captureRootState?.bind(store),
      removeEmptyRoot: store.removeEmptyRoot?.bind(store),
      removeTemporaryFiles: store.removeTemporaryFiles?.bind(store),
      probe: store.probe?.bind(store),
      write: (k, body, hints) => track(k, () => store.write(k, body, hints)),
      parts:
        opts.noParts || !store.parts
          ? undefined
          : {
              partSizeMultiple: store.parts.partSizeMultiple,
              maxSize: store.parts.maxSize,
              begin: (k, h) => store.parts!.begin(k, h),
              writePart: async (k, id, part, body, h) => {
                const pid = `${store.location.uri}|${k}|${part.number}`;
                const attempt = (this.partWrites.get(pid) ?? 0) + 1;
                this.partWrites.set(pid, attempt);
                try {
                  await opts.onPart?.(k, part.number, attempt);
                } catch (e) {
                  body.destroy();
                  throw e;
                }
                return store.parts!.writePart(k, id, part, body, h);
              },
              complete: (k, id, list, h) =>
                track(k, () => store.parts!.complete(k, id, list, h)),
              abort: (k, id) => store.parts!.abort(k, id),
            },
      copyWithin:
        opts.noServerSideCopy || !store.copyWithin
          ? undefined
          : (source, sk, tk) =>
              track(tk, () =>
                store.copyWithin!((source as any).inner ?? source, sk, tk),
              ),
    };
    return wrapped;
  }

  /** Writes to one location only (backups live elsewhere). */
  writesUnder(uri: string): Map<string, number> {
    const result = new Map<string, number>();
    for (const [id, n] of this.writes) {
      const [u, key] = id.split('|');
      if (u === uri) result.set(key, n);
    }
    return result;
  }
}

export function testConfig(
  roots: string[],
  extra: Record<string, unknown> = {},
) {
  return new ConfigReader({
    datasetMigration: {
      autoApprove: false,
      workers: { concurrency: 4, leaseSeconds: 2, pollIntervalMs: 20 },
      retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 40 },
      storage: { local: { roots } },
      ...extra,
    },
  });
}

export async function createTestEngine(options: {
  knex: Knex;
  roots: string[];
  wrap?: (local: StorageBackend) => StorageBackend;
  workerId?: string;
  hooks?: MigrationEngineHooks;
  config?: Record<string, unknown>;
  /** Default: {@link quietLogger}. */
  logger?: LoggerService;
}): Promise<MigrationEngine> {
  const config = testConfig(options.roots, options.config);
  const local = createLocalStorageBackend(config);
  return createMigrationEngine({
    database: databaseService(options.knex),
    logger: options.logger ?? quietLogger,
    config,
    backends: [options.wrap ? options.wrap(local) : local],
    workerId: options.workerId,
    hooks: options.hooks,
  });
}

export function dataset(location: string): DatasetInfo {
  return {
    ref: 'resource:default/plays',
    location,
    format: 'binary',
    consumers: ['component:default/reporting'],
  };
}

export async function waitForState(
  engine: MigrationEngine,
  id: string,
  states: MigrationState[],
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await engine.get(id);
    if (m && states.includes(m.state)) return m;
    if (Date.now() > deadline) {
      const events = await engine.listEvents(id, { after: 0, limit: 1000 });
      throw new Error(
        `Migration ${id} is '${m?.state}' (${
          m?.reason
        }), expected ${states.join('|')}; events:\n${events
          .map(e => `${e.type}: ${e.message}`)
          .join('\n')}`,
      );
    }
    await new Promise(r => setTimeout(r, 25));
  }
}

export async function allEvents(engine: MigrationEngine, id: string) {
  const events: MigrationEvent[] = [];
  let after = 0;
  for (;;) {
    const page = await engine.listEvents(id, { after, limit: 100 });
    if (page.length === 0) return events;
    events.push(...page);
    after = page[page.length - 1].id;
  }
}

export function stateChanges(events: MigrationEvent[]): string[] {
  return events
    .filter(e => e.type === 'state-changed')
    .map(e => String(e.details?.to));
}

/**
 * The per-test set-up the engine suites share: a fresh temp root before each
 * test, and after it every engine made by `setup` stopped and the root
 * removed. `setup` opens the given test database and an engine whose only
 * local root is `root`.
 */
export function useTestEngines(databases: { init(id: string): Promise<Knex> }) {
  const state = { root: '', engines: [] as MigrationEngine[] };
  beforeEach(async () => {
    state.root = await tempRoot();
  });
  afterEach(async () => {
    await Promise.all(state.engines.splice(0).map(e => e.stop()));
    await fs.rm(state.root, { recursive: true, force: true });
  });
  return {
    get root() {
      return state.root;
    },
    async setup(
      databaseId: string,
      options: Omit<
        Parameters<typeof createTestEngine>[0],
        'knex' | 'roots'
      > = {},
    ): Promise<MigrationEngine> {
      const knex = await databases.init(databaseId);
      const engine = await createTestEngine({
        knex,
        roots: [state.root],
        ...options,
      });
      state.engines.push(engine);
      return engine;
    },
  };
}

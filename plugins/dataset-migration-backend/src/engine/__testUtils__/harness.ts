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
import type { StorageBackend } from '@internal/backstage-plugin-dataset-migration-node';
import { createLocalStorageBackend } from '../../storage/local/LocalStorageBackend';
import { createMigrationEngine } from '../MigrationEngine';
import type { MigrationEngine, MigrationEngineHooks } from '../types';
import type { DatasetInfo } from '../../service/types';

export { WrappingBackend } from './wrappingBackend';

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
  const state = {
    root: '',
    engines: [] as MigrationEngine[],
    knex: undefined as Knex | undefined,
  };
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
    /** The database of the last engine `setup` made. */
    get knex(): Knex {
      return state.knex!;
    },
    async setup(
      databaseId: string,
      options: Omit<
        Parameters<typeof createTestEngine>[0],
        'knex' | 'roots'
      > = {},
    ): Promise<MigrationEngine> {
      const knex = await databases.init(databaseId);
      state.knex = knex;
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

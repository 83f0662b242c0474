import fs from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { TestDatabases } from '@backstage/backend-test-utils';
import type { MigrationEngine } from './types';
import {
  WrappingBackend,
  actor,
  allEvents,
  createTestEngine,
  dataset,
  tempRoot,
  waitForState,
  writeFile,
} from './__testUtils__/harness';

jest.setTimeout(120_000);

/**
 * Everything under `dir` as a consumer sees it: every folder (`name/`) and
 * every file with its sha256, hidden ones included, nothing filtered.
 */
async function rawTree(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  let entries;
  try {
    entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  } catch (e: any) {
    if (e.code === 'ENOENT') return result;
    throw e;
  }
  for (const entry of entries) {
    const full = path.join(entry.parentPath, entry.name);
    const rel = path.relative(dir, full).split(path.sep).join('/');
    result[entry.isDirectory() ? `${rel}/` : rel] = entry.isDirectory()
      ? 'dir'
      : createHash('sha256')
          .update(await fs.readFile(full))
          .digest('hex');
  }
  return result;
}

const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

describe('backups, folders and temp files', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });
  let root: string;
  let engines: MigrationEngine[] = [];

  beforeEach(async () => {
    root = await tempRoot();
  });

  afterEach(async () => {
    await Promise.all(engines.map(e => e.stop()));
    engines = [];
    await fs.rm(root, { recursive: true, force: true });
  });

  describe.each(databases.eachSupportedId())('%p', databaseId => {
    async function setup(
      options: Partial<Parameters<typeof createTestEngine>[0]> = {},
      knex?: Awaited<ReturnType<typeof databases.init>>,
    ) {
      const db = knex ?? (await databases.init(databaseId));
      const engine = await createTestEngine({
        knex: db,
        roots: [root],
        ...options,
      });
      engines.push(engine);
      return { engine, knex: db };
    }

    async function seedSource() {
      const src = path.join(root, 'src');
      await writeFile(src, 'a.csv', 'new a');
      await writeFile(src, 'year=2026/month=01/part 0.csv', 'new p0');
      await writeFile(src, 'fresh/deep/only-new.txt', 'brand new');
      return src;
    }

    async function run(engine: MigrationEngine, src: string, dst: string) {
      const created = await engine.create(
        {
          dataset: 'resource:default/plays',
          target: { location: `file://${dst}` },
          strategy: 'bulk-copy',
        },
        dataset(`file://${src}`),
        actor,
      );
      await engine.approve(created.id, actor);
      await engine.start();
      const done = await waitForState(engine, created.id, [
        'succeeded',
        'rolled-back',
      ]);
      expect(done.state).toBe('succeeded');
      return created.id;
    }

    it('keeps backups outside the target, and a rollback restores files and folders exactly', async () => {
      const src = await seedSource();
      const dst = path.join(root, 'dst');
      await writeFile(dst, 'a.csv', 'old a');
      await writeFile(dst, 'year=2026/month=01/part 0.csv', 'old p0');
      await writeFile(dst, 'unrelated/keep.txt', 'not ours');
      const before = await rawTree(dst);
      const { engine } = await setup();

      const id = await run(engine, src, dst);

      const after = await rawTree(dst);
      // A consumer listing the target sees the dataset and what was there.
      expect(
        Object.keys(after)
          .filter(k => !k.endsWith('/'))
          .sort(),
      ).toEqual([
        'a.csv',
        'fresh/deep/only-new.txt',
        'unrelated/keep.txt',
        'year=2026/month=01/part 0.csv',
      ]);
      expect(
        Object.keys(after).some(k => k.includes('.dataset-migration')),
      ).toBe(false);
      const area = path.join(root, '.dataset-migration-backups', id);
      expect(Object.keys(await rawTree(area)).sort()).toEqual([
        'a.csv',
        'year=2026/',
        'year=2026/month=01/',
        'year=2026/month=01/part 0.csv',
      ]);

      await engine.rollback(id, actor);
      await waitForState(engine, id, ['rolled-back']);
      expect(await rawTree(dst)).toEqual(before);
      expect(await exists(path.join(root, '.dataset-migration-backups'))).toBe(
        false,
      );
    });

    it('removes the target folders a rolled-back migration created', async () => {
      const src = await seedSource();
      await fs.mkdir(path.join(root, 'existing'));
      const dst = path.join(root, 'existing/new/deeper/dst');
      const { engine } = await setup();
      const id = await run(engine, src, dst);
      expect(Object.keys(await rawTree(dst))).toContain('a.csv');

      await engine.rollback(id, actor);
      await waitForState(engine, id, ['rolled-back']);
      expect(await exists(path.join(root, 'existing'))).toBe(true);
      expect(await exists(path.join(root, 'existing/new'))).toBe(false);
    });

    it('sweeps the temp files a crashed write left in the target on resume', async () => {
      const src = await seedSource();
      const dst = path.join(root, 'dst');
      let release!: () => void;
      const held = new Promise<void>(r => {
        release = r;
      });
      let firstWrite!: () => void;
      const writing = new Promise<void>(r => {
        firstWrite = r;
      });
      const knex = await databases.init(databaseId);
      const { engine: crashing } = await setup(
        {
          workerId: 'crashing',
          wrap: local =>
            new WrappingBackend(local, {
              onWrite: () => {
                firstWrite();
                return held;
              },
            }),
        },
        knex,
      );
      const created = await crashing.create(
        {
          dataset: 'resource:default/plays',
          target: { location: `file://${dst}` },
          strategy: 'bulk-copy',
        },
        dataset(`file://${src}`),
        actor,
      );
      await crashing.approve(created.id, actor);
      await crashing.start();
      await writing;
      // What SIGKILL during a write leaves: the temp file beside its key.
      await writeFile(
        dst,
        'year=2026/month=01/.part 0.csv.dm-tmp-0a1b2c3d4e5f',
        'half',
      );
      await writeFile(dst, '.a.csv.dm-tmp-ffeeddccbbaa', 'ha');
      await crashing.stop({ abandon: true });
      release();

      const { engine } = await setup({ workerId: 'resumer' }, knex);
      await engine.start();
      const done = await waitForState(engine, created.id, [
        'succeeded',
        'rolled-back',
      ]);
      expect(done.state).toBe('succeeded');
      expect(await rawTree(dst)).toEqual(await rawTree(src));
      const events = await allEvents(engine, created.id);
      expect(events.find(e => e.type === 'temp-files-removed')).toMatchObject({
        details: { removed: 2 },
      });
    });

    it('purges backups after the retention time; a rollback is then refused with 409 and changes nothing', async () => {
      const src = await seedSource();
      const dst = path.join(root, 'dst');
      await writeFile(dst, 'a.csv', 'old a');
      const { engine } = await setup({
        config: { backups: { retention: { hours: 1 } } },
      });
      const id = await run(engine, src, dst);
      const area = path.join(root, '.dataset-migration-backups', id);
      expect(await exists(path.join(area, 'a.csv'))).toBe(true);

      // Within the retention time nothing is purged.
      expect(await engine.purgeExpiredBackups(Date.now())).toEqual({
        purged: 0,
      });
      expect(await exists(path.join(area, 'a.csv'))).toBe(true);

      expect(
        await engine.purgeExpiredBackups(Date.now() + 3_600_000 + 1000),
      ).toEqual({ purged: 1 });
      expect(await exists(path.join(root, '.dataset-migration-backups'))).toBe(
        false,
      );
      const target = await rawTree(dst);
      const rollback = engine.rollback(id, actor);
      await expect(rollback).rejects.toMatchObject({ name: 'ConflictError' });
      await expect(rollback).rejects.toThrow(
        /backups of the 1 target object\(s\) it overwrote were purged on .* retention time of 1 hour/,
      );
      expect((await engine.get(id))!.state).toBe('succeeded');
      expect(await rawTree(dst)).toEqual(target);
      const events = await allEvents(engine, id);
      expect(events.map(e => e.type)).toContain('backups-purged');
      // A second run has nothing left to do.
      expect(await engine.purgeExpiredBackups(Date.now() + 7_200_000)).toEqual({
        purged: 0,
      });
    });

    it('still rolls back after the purge when nothing was overwritten', async () => {
      const src = await seedSource();
      const dst = path.join(root, 'dst');
      const { engine } = await setup({
        config: { backups: { retention: { hours: 1 } } },
      });
      const id = await run(engine, src, dst);
      expect(
        await engine.purgeExpiredBackups(Date.now() + 3_600_000 + 1000),
      ).toEqual({ purged: 1 });
      await engine.rollback(id, actor);
      await waitForState(engine, id, ['rolled-back']);
      expect(await exists(dst)).toBe(false);
    });

    it('refuses targets whose backups could not stay outside them, writing nothing', async () => {
      const src = await seedSource();
      const other = await tempRoot();
      const { engine, knex } = await setup({ roots: [root, other] });
      for (const [target, message] of [
        [`file://${other}`, /whole local root/],
        [
          `file://${other}/.dataset-migration-backups/x`,
          /inside the engine's backup area/,
        ],
      ] as const) {
        await expect(
          engine.create(
            {
              dataset: 'resource:default/plays',
              target: { location: target },
              strategy: 'bulk-copy',
            },
            dataset(`file://${src}`),
            actor,
          ),
        ).rejects.toThrow(message);
      }
      expect(await knex('dm_migrations')).toEqual([]);
      expect(await fs.readdir(other)).toEqual([]);
      await fs.rm(other, { recursive: true });
    });
  });
});

import fs from 'node:fs/promises';
import path from 'node:path';
import { TestDatabases } from '@backstage/backend-test-utils';
import { InputError } from '@backstage/errors';
import {
  WrappingBackend,
  actor,
  allEvents,
  dataset,
  hashTree,
  makeMixedTree,
  stateChanges,
  useTestEngines,
  waitForState,
  writeFile,
} from './__testUtils__/harness';

jest.setTimeout(120_000);

describe('MigrationEngine', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });
  const engines = useTestEngines(databases);
  let root: string;
  beforeEach(() => {
    root = engines.root;
  });
  const setup = engines.setup;

  describe.each(databases.eachSupportedId())('%p', databaseId => {
    it.each([
      ['server-side copy', false],
      ['streamed copy', true],
    ])('migrates a mixed tree (%s)', async (_name, noServerSideCopy) => {
      const src = path.join(root, 'src');
      const dst = path.join(root, 'dst');
      const keys = await makeMixedTree(src, 150);
      const wrapper = { backend: undefined as WrappingBackend | undefined };
      const engine = await setup(databaseId, {
        wrap: local =>
          (wrapper.backend = new WrappingBackend(local, { noServerSideCopy })),
      });

      const created = await engine.create(
        {
          dataset: 'resource:default/plays',
          target: { location: `file://${dst}` },
          strategy: 'bulk-copy',
        },
        dataset(`file://${src}`),
        actor,
      );
      expect(created.state).toBe('awaiting-approval');
      expect(created.plan).toMatchObject({
        source: { objectCount: keys.length },
        overwrites: { count: 0 },
        consumers: ['component:default/reporting'],
      });
      await expect(fs.stat(dst)).rejects.toThrow(/ENOENT/);

      await engine.approve(created.id, actor);
      await engine.start();
      const done = await waitForState(engine, created.id, [
        'succeeded',
        'rolled-back',
      ]);
      expect(done.reason).toBeUndefined();
      expect(done.state).toBe('succeeded');
      expect(done.progress).toMatchObject({
        totalItems: keys.length,
        doneItems: keys.length,
        failedItems: 0,
      });

      expect(await hashTree(dst)).toEqual(await hashTree(src));
      const report = await engine.getReport(created.id);
      expect(report).toMatchObject({
        passed: true,
        objects: { checked: keys.length, mismatched: 0, missing: 0 },
        manifest: { matches: true },
      });
      expect(report!.methods).toEqual(
        noServerSideCopy
          ? { sha256: keys.length }
          : { 'reread-sha256': keys.length },
      );
      expect(
        await engine.getEffectiveLocation('resource:default/plays'),
      ).toEqual({ location: `file://${dst}`, format: 'binary' });

      const events = await allEvents(engine, created.id);
      expect(stateChanges(events)).toEqual([
        'awaiting-approval',
        'queued',
        'running',
        'succeeded',
      ]);
      expect(
        events.filter(e => e.type === 'step').map(e => e.details?.step),
      ).toEqual(['snapshot', 'copy', 'validate', 'cutover']);
      const ids = events.map(e => e.id);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(events.find(e => e.details?.to === 'queued')?.actor).toBe(
        actor.ref,
      );
      expect(
        await engine.listEvents(created.id, { after: ids[2], limit: 2 }),
      ).toEqual(events.slice(3, 5));

      // Every object was written exactly once.
      const writes = wrapper.backend!.writesUnder(`file://${dst}`);
      expect(writes.size).toBe(keys.length);
      expect([...writes.values()].every(n => n === 1)).toBe(true);

      const fleet = await engine.getFleetStatus();
      expect(fleet.migrations.succeeded).toBe(1);
      expect(fleet.throughput.itemsPerMinute).toBe(keys.length);
      expect(fleet.workers.length).toBe(1);
    });

    it('backs up overwritten objects and a manual rollback restores the target exactly', async () => {
      const src = path.join(root, 'src');
      const dst = path.join(root, 'dst');
      await makeMixedTree(src, 40);
      await writeFile(dst, 'empty.bin', 'was not empty before');
      await writeFile(dst, 'part=1/day 1/file-36.dat', 'old version');
      await writeFile(dst, 'untouched/keep.txt', 'not part of the migration');
      await writeFile(dst, '.hidden', 'dotfile');
      const before = await hashTree(dst);
      const engine = await setup(databaseId, { config: { autoApprove: true } });

      const created = await engine.create(
        {
          dataset: 'resource:default/plays',
          target: { location: `file://${dst}` },
          strategy: 'bulk-copy',
        },
        dataset(`file://${src}`),
        actor,
      );
      expect(created.state).toBe('queued');
      expect(created.plan!.overwrites).toEqual({
        count: 2,
        sample: ['empty.bin', 'part=1/day 1/file-36.dat'],
      });
      await engine.start();
      await waitForState(engine, created.id, ['succeeded']);
      const after = await hashTree(dst);
      const srcHashes = await hashTree(src);
      for (const [key, hash] of Object.entries(srcHashes))
        expect(after[key]).toBe(hash);
      expect(after['untouched/keep.txt']).toBe(before['untouched/keep.txt']);

      await expect(engine.approve(created.id, actor)).rejects.toThrow(
        /it is 'succeeded'; approve is only possible when it is 'planned' or 'awaiting-approval'/,
      );
      const rolling = await engine.rollback(
        created.id,
        actor,
        'consumers broke',
      );
      expect(rolling.state).toBe('rolling-back');
      const rolledBack = await waitForState(engine, created.id, [
        'rolled-back',
      ]);
      expect(rolledBack.reason).toBe('consumers broke');
      expect(await hashTree(dst)).toEqual(before);
      expect(await hashTree(src)).toEqual(srcHashes);
      expect(
        await engine.getEffectiveLocation('resource:default/plays'),
      ).toBeUndefined();
      expect(stateChanges(await allEvents(engine, created.id))).toEqual([
        'awaiting-approval',
        'queued',
        'running',
        'succeeded',
        'rolling-back',
        'rolled-back',
      ]);
    });

    it('rolls back automatically when validation finds corruption', async () => {
      const src = path.join(root, 'src');
      const dst = path.join(root, 'dst');
      await makeMixedTree(src, 30);
      await writeFile(dst, 'empty.bin', 'original target content');
      const before = await hashTree(dst);
      const engine = await setup(databaseId, {
        config: { autoApprove: true },
        hooks: {
          async beforeValidate() {
            await writeFile(
              dst,
              'with spaces/and (parens) & more.txt',
              'SPACES',
            );
            await fs.rm(path.join(dst, 'a/b/c/d/e/f/g/h/deep.ndjson'));
          },
        },
      });
      const created = await engine.create(
        {
          dataset: 'resource:default/plays',
          target: { location: `file://${dst}` },
          strategy: 'bulk-copy',
        },
        dataset(`file://${src}`),
        actor,
      );
      await engine.start();
      const end = await waitForState(engine, created.id, [
        'rolled-back',
        'succeeded',
      ]);
      expect(end.state).toBe('rolled-back');
      expect(end.reason).toMatch(
        /^Validation failed: 1 object\(s\) differ and 1 are missing/,
      );
      expect(await hashTree(dst)).toEqual(before);
      const report = await engine.getReport(created.id);
      expect(report).toMatchObject({
        passed: false,
        objects: { mismatched: 1, missing: 1 },
        manifest: { matches: false },
      });
      expect(report!.failures.map(f => f.key).sort()).toEqual([
        'a/b/c/d/e/f/g/h/deep.ndjson',
        'with spaces/and (parens) & more.txt',
      ]);
      expect(stateChanges(await allEvents(engine, created.id))).toEqual([
        'awaiting-approval',
        'queued',
        'running',
        'failed',
        'rolling-back',
        'rolled-back',
      ]);
    });

    it('stops before the first write when the source drifted from the plan', async () => {
      const src = path.join(root, 'src');
      await makeMixedTree(src, 10);
      const engine = await setup(databaseId);
      const created = await engine.create(
        {
          dataset: 'resource:default/plays',
          target: { location: `file://${root}/dst` },
          strategy: 'bulk-copy',
        },
        dataset(`file://${src}`),
        actor,
      );
      await writeFile(src, 'empty.bin', 'no longer empty');
      // Approval does not re-list the source; the snapshot step does.
      await engine.approve(created.id, actor);
      await engine.start();
      const failed = await waitForState(engine, created.id, [
        'failed',
        'succeeded',
        'rolled-back',
      ]);
      expect(failed).toMatchObject({
        state: 'failed',
        reason: expect.stringMatching(
          /^The source changed since the plan was made \(plan: 10 objects, \d+ bytes; now: 10 objects, \d+ bytes\)/,
        ),
      });
      // Nothing was written, so nothing is rolled back.
      expect(stateChanges(await allEvents(engine, created.id))).toEqual([
        'awaiting-approval',
        'queued',
        'running',
        'failed',
      ]);
      await new Promise(r => setTimeout(r, 300));
      const after = (await engine.get(created.id))!;
      expect(after.state).toBe('failed');
      expect(after.progress).toMatchObject({ totalItems: 0, doneItems: 0 });
      await expect(fs.stat(path.join(root, 'dst'))).rejects.toThrow(/ENOENT/);
    });

    it('sends a migration cancelled at plan review back to review on retry, never straight to the queue', async () => {
      const engine = await setup(databaseId);
      await writeFile(path.join(root, 'src'), 'a.txt', 'a');
      const created = await engine.create(
        {
          dataset: 'resource:default/plays',
          target: { location: `file://${root}/dst` },
          strategy: 'bulk-copy',
        },
        dataset(`file://${root}/src`),
        actor,
      );
      expect(created.state).toBe('awaiting-approval');
      await engine.cancel(created.id, actor);
      const retried = await engine.retry(created.id, actor);
      expect(retried.state).toBe('awaiting-approval');
      await engine.approve(created.id, actor);
      await engine.start();
      const end = await waitForState(engine, created.id, ['succeeded']);
      expect(end.state).toBe('succeeded');
    });

    it('rejects unsupported requests with actionable errors', async () => {
      const engine = await setup(databaseId);
      await fs.mkdir(path.join(root, 'src'));
      const request = {
        dataset: 'resource:default/plays',
        target: { location: `file://${root}/dst` },
        strategy: 'bulk-copy' as const,
      };
      await expect(
        engine.create(
          { ...request, strategy: 'schema-transform' },
          dataset(`file://${root}/src`),
          actor,
        ),
      ).rejects.toThrow(InputError);
      await expect(
        engine.create(
          { ...request, target: { location: `file://${root}/src/inner` } },
          dataset(`file://${root}/src`),
          actor,
        ),
      ).rejects.toThrow(/overlaps the source/);
      await expect(
        engine.create(
          { ...request, target: { location: 's3://bucket/x' } },
          dataset(`file://${root}/src`),
          actor,
        ),
      ).rejects.toThrow(/No storage backend is installed for s3/);
      await expect(
        engine.create(
          { ...request, target: { location: 'file:///etc/dst' } },
          dataset(`file://${root}/src`),
          actor,
        ),
      ).rejects.toThrow(/outside the allowed local roots/);
      await expect(engine.cancel('nope', actor)).rejects.toThrow(
        /does not exist/,
      );
    });
  });
});

import fs from 'node:fs/promises';
import { TestDatabases } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import type { MigrationState } from '@internal/backstage-plugin-dataset-migration-common';
import type { Knex } from 'knex';
import { EventStore } from '../database/EventStore';
import { MigrationStore } from '../database/MigrationStore';
import { ReportStore } from '../database/ReportStore';
import { RetentionStore } from '../database/RetentionStore';
import { WorkItemStore } from '../database/WorkItemStore';
import { migrationRow } from '../database/__testUtils__/fixtures';
import { readEngineConfig } from './config';
import { describeDataAge } from './dataRetention';
import type { MigrationEngine } from './types';
import { actor, createTestEngine, tempRoot } from './__testUtils__/harness';

jest.setTimeout(120_000);

const DAY = 86_400_000;
const NOW = Date.now();

/**
 * A finished migration with `items` work items of 10 bytes (all validated
 * but the last, skipped), 7 events and a passed report.
 */
async function seed(
  knex: Knex,
  id: string,
  options: {
    state: MigrationState;
    finishedDaysAgo?: number;
    backupsPurged?: boolean;
    items?: number;
    phase?: 'copy';
  },
) {
  await new MigrationStore(knex).insert(
    migrationRow(id, { state: options.state, phase: options.phase }),
  );
  await knex('dm_migrations')
    .where({ id })
    .update({
      finished_at:
        options.finishedDaysAgo === undefined
          ? null
          : NOW - options.finishedDaysAgo * DAY,
      backups_purged_at: options.backupsPurged ? NOW - DAY : null,
      backups_purged_count: options.backupsPurged ? 0 : null,
    });
  const items = options.items ?? 3;
  await new WorkItemStore(knex).insertBatch(
    id,
    Array.from({ length: items }, (_, i) => ({ key: `k${i}`, size: 10 })),
  );
  await knex('dm_work_items')
    .where('migration_id', id)
    .update({ stage: 'validate', state: 'done' });
  await knex('dm_work_items')
    .where({ migration_id: id, key: `k${items - 1}` })
    .update({ state: 'skipped' });
  const events = new EventStore(knex);
  for (let i = 1; i <= 7; i++) {
    await events.append({ migrationId: id, type: `t${i}`, message: `m${i}` });
  }
  await new ReportStore(knex).put({
    migrationId: id,
    passed: true,
    checkedAt: new Date(NOW - 100 * DAY).toISOString(),
    objects: { checked: items, mismatched: 0, missing: 0 },
    manifest: {
      source: { count: items, bytes: items * 10, hash: 'h' },
      target: { count: items, bytes: items * 10, hash: 'h' },
      matches: true,
    },
    methods: { sha256: items },
    failures: [],
  });
}

async function rowsOf(knex: Knex, id: string) {
  const count = async (table: string) =>
    Number(
      (await knex(table).where('migration_id', id).count({ n: '*' }))[0].n,
    );
  return {
    items: await count('dm_work_items'),
    events: await count('dm_events'),
    reports: await count('dm_validation_reports'),
  };
}

describe('data retention', () => {
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

  async function engineOn(knex: Knex) {
    const engine = await createTestEngine({ knex, roots: [root] });
    engines.push(engine);
    return engine;
  }

  describe.each(databases.eachSupportedId())('%p', databaseId => {
    it('purges only migrations past the data age that can no longer be rolled back, keeping each with a summary', async () => {
      const knex = await databases.init(databaseId);
      const engine = await engineOn(knex);
      await seed(knex, 'old-rolled-back', {
        state: 'rolled-back',
        finishedDaysAgo: 100,
        items: 4,
      });
      await seed(knex, 'old-succeeded-purged', {
        state: 'succeeded',
        finishedDaysAgo: 95,
        backupsPurged: true,
      });
      await seed(knex, 'young-rolled-back', {
        state: 'rolled-back',
        finishedDaysAgo: 10,
      });
      await seed(knex, 'old-succeeded-kept', {
        state: 'succeeded',
        finishedDaysAgo: 100,
      });
      await seed(knex, 'old-cancelled-kept', {
        state: 'cancelled',
        finishedDaysAgo: 100,
      });
      await seed(knex, 'running', { state: 'running', phase: 'copy' });

      expect(await engine.purgeExpiredData(NOW)).toEqual({ purged: 2 });

      for (const id of ['old-rolled-back', 'old-succeeded-purged']) {
        expect(await rowsOf(knex, id)).toEqual({
          items: 0,
          events: 0,
          reports: 0,
        });
      }
      for (const id of [
        'young-rolled-back',
        'old-succeeded-kept',
        'old-cancelled-kept',
        'running',
      ]) {
        expect(await rowsOf(knex, id)).toEqual({
          items: 3,
          events: 7,
          reports: 1,
        });
        const kept = await engine.get(id);
        expect(kept?.dataPurgedAt).toBeUndefined();
        expect(kept?.dataSummary).toBeUndefined();
      }

      const purged = await engine.get('old-rolled-back');
      expect(purged?.state).toBe('rolled-back');
      expect(purged?.dataPurgedAt).toBe(new Date(NOW).toISOString());
      expect(purged?.dataSummary).toEqual({
        objects: 4,
        bytes: 40,
        itemStates: { done: 3, skipped: 1 },
        progress: expect.objectContaining({
          totalItems: 4,
          doneItems: 4,
          totalBytes: 40,
        }),
        report: {
          passed: true,
          checkedAt: new Date(NOW - 100 * DAY).toISOString(),
          objects: { checked: 4, mismatched: 0, missing: 0 },
          manifestMatches: true,
          failures: 0,
        },
        events: {
          count: 7,
          last: ['t3', 't4', 't5', 't6', 't7'].map((type, i) => ({
            type,
            level: 'info',
            message: `m${i + 3}`,
            createdAt: expect.any(String),
          })),
        },
        dataAgeMs: 90 * DAY,
        dataAge: '90 days',
      });
      // The API keeps showing the progress the items had.
      expect(purged?.progress.totalItems).toBe(4);
      expect(
        await engine.listEvents('old-rolled-back', { after: 0, limit: 100 }),
      ).toEqual([]);
      expect(await engine.getReport('old-rolled-back')).toBeUndefined();

      // Nothing left to do on the next run.
      expect(await engine.purgeExpiredData(NOW)).toEqual({ purged: 0 });
      await knex.destroy();
    });

    it('lets two replicas purge at once without failing or counting twice', async () => {
      const knex = await databases.init(databaseId);
      const a = await engineOn(knex);
      const b = await engineOn(knex);
      const ids = Array.from({ length: 6 }, (_, i) => `m${i}`);
      for (const id of ids) {
        await seed(knex, id, {
          state: 'rolled-back',
          finishedDaysAgo: 100,
          items: 30,
        });
      }

      const [ra, rb] = await Promise.all([
        a.purgeExpiredData(NOW),
        b.purgeExpiredData(NOW),
      ]);

      expect(ra.purged + rb.purged).toBe(ids.length);
      for (const id of ids) {
        expect(await rowsOf(knex, id)).toEqual({
          items: 0,
          events: 0,
          reports: 0,
        });
        // The summary is the one gathered before any row was deleted.
        const m = await a.get(id);
        expect(m?.dataSummary).toMatchObject({ objects: 30, bytes: 300 });
        expect(m?.dataSummary?.events.count).toBe(7);
      }
      await knex.destroy();
    });

    it('refuses rollback and retry once the data was purged', async () => {
      const knex = await databases.init(databaseId);
      const engine = await engineOn(knex);
      // Nothing was overwritten (0 backups purged): a rollback was possible.
      await seed(knex, 'done', {
        state: 'succeeded',
        finishedDaysAgo: 100,
        backupsPurged: true,
      });
      await seed(knex, 'broken', {
        state: 'failed',
        finishedDaysAgo: 100,
        backupsPurged: true,
      });
      await knex('dm_migrations')
        .where({ id: 'broken' })
        .update({ phase: 'copy' });

      expect(await engine.purgeExpiredData(NOW)).toEqual({ purged: 2 });

      const purgedOn = new Date(NOW).toISOString();
      await expect(engine.rollback('done', actor)).rejects.toMatchObject({
        name: 'ConflictError',
        message: `Cannot roll back migration 'done': its work items, events and report were purged on ${purgedOn} after the retention of 90 days (datasetMigration.retention.dataAge)`,
      });
      await expect(engine.retry('broken', actor)).rejects.toMatchObject({
        name: 'ConflictError',
        message: expect.stringContaining(
          `Cannot retry migration 'broken': its work items, events and report were purged on ${purgedOn}`,
        ),
      });
      expect((await engine.get('done'))?.state).toBe('succeeded');
      expect((await engine.get('broken'))?.state).toBe('failed');
      await knex.destroy();
    });

    it('skips a migration that changed after it was listed', async () => {
      const knex = await databases.init(databaseId);
      // Never started: no worker or driver writes while the test counts.
      const engine = await engineOn(knex);
      await seed(knex, 'm', {
        state: 'succeeded',
        finishedDaysAgo: 100,
        backupsPurged: true,
      });
      const retention = new RetentionStore(knex);
      const before = NOW - 90 * DAY;
      const [listed] = await retention.listCandidates(before, 10);
      expect(listed.id).toBe('m');
      // A rollback started meanwhile (nothing was overwritten, so it may):
      // its state-changed event is the 8th.
      expect((await engine.rollback('m', actor)).state).toBe('rolling-back');
      const summary = {
        ...(await retention.gather('m')),
        progress: { totalItems: 0, doneItems: 0, failedItems: 0 },
      } as any;
      expect(await retention.markPurged(listed, before, summary, NOW)).toBe(
        false,
      );
      expect(await retention.listCandidates(before, 10)).toEqual([]);
      expect(await rowsOf(knex, 'm')).toEqual({
        items: 3,
        events: 8,
        reports: 1,
      });
      await knex.destroy();
    });

    it('deletes in bounded statements, and finishes a purge left half done', async () => {
      const knex = await databases.init(databaseId);
      const engine = await engineOn(knex);
      // Young, so the run below leaves it alone (its rows are deleted here).
      await seed(knex, 'm', {
        state: 'rolled-back',
        finishedDaysAgo: 10,
        items: 20,
      });
      const deletes: string[] = [];
      const onQuery = (q: { sql: string }) => {
        if (/^delete from .?dm_work_items/i.test(q.sql)) deletes.push(q.sql);
      };
      knex.on('query', onQuery);
      expect(await new RetentionStore(knex, 7).deleteData('m')).toEqual({
        dm_parts: 0,
        dm_work_items: 20,
        dm_events: 7,
        dm_validation_reports: 1,
      });
      knex.off('query', onQuery);
      // 7 + 7 + 6, then one that finds nothing.
      expect(deletes).toHaveLength(4);
      expect(deletes[0]).toMatch(/limit/i);

      // A replica marked a migration purged and stopped before deleting.
      await seed(knex, 'half', {
        state: 'rolled-back',
        finishedDaysAgo: 100,
      });
      await knex('dm_migrations')
        .where({ id: 'half' })
        .update({ data_purged_at: NOW - DAY });
      expect(await engine.purgeExpiredData(NOW)).toEqual({ purged: 0 });
      expect(await rowsOf(knex, 'half')).toEqual({
        items: 0,
        events: 0,
        reports: 0,
      });
      await knex.destroy();
    });
  });

  it.each(databases.eachSupportedId())(
    'migrates the retention columns down and up again without losing data, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      await engineOn(knex); // applies the schema
      await seed(knex, 'kept', { state: 'rolled-back', finishedDaysAgo: 100 });
      await seed(knex, 'gone', { state: 'rolled-back', finishedDaysAgo: 100 });
      await knex('dm_migrations')
        .where({ id: 'gone' })
        .update({ data_purged_at: NOW, data_summary: '{}' });
      const directory = `${__dirname}/../../migrations`;
      const name = '20261203600000_data_retention.js';

      await knex.migrate.down({ directory, name });
      expect(
        await knex.schema.hasColumn('dm_migrations', 'data_purged_at'),
      ).toBe(false);
      // A table rebuild (SQLite) must not cascade to the migrations' rows.
      expect(await rowsOf(knex, 'kept')).toEqual({
        items: 3,
        events: 7,
        reports: 1,
      });
      await knex.migrate.latest({ directory });
      const rows = await knex('dm_migrations')
        .orderBy('id')
        .select('id', 'data_purged_at', 'data_summary');
      expect(rows).toEqual([
        { id: 'gone', data_purged_at: null, data_summary: null },
        { id: 'kept', data_purged_at: null, data_summary: null },
      ]);
      await knex.destroy();
    },
  );

  it('reads datasetMigration.retention with a default of 90 days, and can be turned off', () => {
    const read = (retention?: object) =>
      readEngineConfig(
        new ConfigReader({ datasetMigration: retention ? { retention } : {} }),
      ).retention;
    expect(read()).toEqual({ dataAgeMs: 90 * DAY, frequencyMs: 3_600_000 });
    expect(read({ dataAge: { days: 30 }, frequency: 'P1D' })).toEqual({
      dataAgeMs: 30 * DAY,
      frequencyMs: DAY,
    });
    expect(read({ enabled: false }).dataAgeMs).toBeUndefined();
    expect(() => read({ dataAge: { days: 0 } })).toThrow(
      /retention.dataAge must be positive/,
    );
    expect(() => read({ dataAge: { days: -1 } })).toThrow(
      /retention.dataAge must be positive/,
    );
    expect(() => read({ dataAge: 'soon' })).toThrow();
    expect(describeDataAge(90 * DAY)).toBe('90 days');
    expect(describeDataAge(1)).toBe('1 ms');
  });
});

import { Knex } from 'knex';
import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';
import type { MigrationState } from '@internal/backstage-plugin-dataset-migration-common';
import { EventStore, NewEvent } from '../database/EventStore';
import { FleetStore } from '../database/FleetStore';
import { MetricsStore } from '../database/MetricsStore';
import { MigrationStore } from '../database/MigrationStore';
import { ReportStore } from '../database/ReportStore';
import { WorkItemStore } from '../database/WorkItemStore';
import { PartStore } from '../database/PartStore';
import {
  migrateLatest,
  migrationRow,
} from '../database/__testUtils__/fixtures';
import type { Stores } from './context';
import {
  changeState,
  enterStep,
  failMigration,
  SYSTEM_ACTOR,
} from './transitions';

jest.setTimeout(60_000);

describe('transitions', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3', 'POSTGRES_16'] });

  async function setup(databaseId: TestDatabaseId, state: MigrationState) {
    const knex = await migrateLatest(await databases.init(databaseId));
    const notified: NewEvent[] = [];
    const stores: Stores = {
      migrations: new MigrationStore(knex),
      items: new WorkItemStore(knex),
      parts: new PartStore(knex),
      events: new EventStore(knex, async e => {
        notified.push(e);
      }),
      reports: new ReportStore(knex),
      fleet: new FleetStore(knex),
      metrics: new MetricsStore(knex),
    };
    await stores.migrations.insert(migrationRow('m1', { state }));
    return { knex, stores, notified };
  }

  const events = (stores: Stores) =>
    stores.events.list('m1', { after: 0, limit: 100 });

  async function close(knex: Knex) {
    await knex.destroy();
  }

  it.each(databases.eachSupportedId())(
    'changeState writes exactly one state-changed event and tells the listener, %p',
    async databaseId => {
      const { knex, stores, notified } = await setup(databaseId, 'queued');

      await expect(
        changeState(stores, 'm1', ['queued'], 'running', {
          phase: 'preflight',
          reason: 'go',
          details: { extra: 1 },
        }),
      ).resolves.toBe(true);

      expect(await stores.migrations.get('m1')).toMatchObject({
        state: 'running',
        phase: 'preflight',
        reason: 'go',
      });
      const logged = await events(stores);
      expect(logged).toEqual([
        expect.objectContaining({
          type: 'state-changed',
          level: 'info',
          message: 'queued → running: go',
          actor: SYSTEM_ACTOR,
          details: { from: 'queued', to: 'running', extra: 1 },
        }),
      ]);
      expect(notified).toEqual([
        expect.objectContaining({
          type: 'state-changed',
          message: 'queued → running: go',
        }),
      ]);
      await close(knex);
    },
  );

  it.each(databases.eachSupportedId())(
    'changeState returns false and logs nothing when the migration left `from`, %p',
    async databaseId => {
      const { knex, stores, notified } = await setup(databaseId, 'cancelled');

      await expect(
        changeState(stores, 'm1', ['queued'], 'running'),
      ).resolves.toBe(false);
      await expect(
        changeState(stores, 'unknown', ['queued'], 'running'),
      ).resolves.toBe(false);

      expect((await stores.migrations.get('m1'))?.state).toBe('cancelled');
      expect(await events(stores)).toEqual([]);
      expect(notified).toEqual([]);
      await close(knex);
    },
  );

  it.each(databases.eachSupportedId())(
    'changeState refuses a change the state machine forbids, %p',
    async databaseId => {
      const { knex, stores } = await setup(databaseId, 'rolling-back');

      // rolling-back → failed is not in MIGRATION_TRANSITIONS.
      await expect(
        changeState(stores, 'm1', ['rolling-back'], 'failed'),
      ).rejects.toThrow(
        "Migration 'm1': the state machine does not allow rolling-back → failed",
      );
      // Refused even when the migration is in another state of `from`.
      await expect(
        changeState(stores, 'm1', ['succeeded', 'rolling-back'], 'running'),
      ).rejects.toThrow(/succeeded → running, rolling-back → running/);

      expect((await stores.migrations.get('m1'))?.state).toBe('rolling-back');
      expect(await events(stores)).toEqual([]);
      await close(knex);
    },
  );

  it.each(databases.eachSupportedId())(
    'failMigration fails the migration and starts its rollback, %p',
    async databaseId => {
      const { knex, stores } = await setup(databaseId, 'running');

      await failMigration(stores, 'm1', 'disk full', {
        actor: 'user:default/a',
      });

      expect(await stores.migrations.get('m1')).toMatchObject({
        state: 'rolling-back',
        phase: 'rollback-prepare',
        reason: 'disk full',
      });
      const logged = await events(stores);
      expect(
        logged.map(e => [e.level, e.details?.from, e.details?.to]),
      ).toEqual([
        ['error', 'running', 'failed'],
        ['info', 'failed', 'rolling-back'],
      ]);
      expect(logged[0].actor).toBe('user:default/a');
      expect(logged[1].details).toMatchObject({ automatic: true });
      await close(knex);
    },
  );

  it.each(databases.eachSupportedId())(
    'failMigration leaves the migration failed when told not to roll back, %p',
    async databaseId => {
      const { knex, stores } = await setup(databaseId, 'awaiting-approval');

      await failMigration(stores, 'm1', 'source changed', { rollback: false });

      expect((await stores.migrations.get('m1'))?.state).toBe('failed');
      expect((await events(stores)).map(e => e.details?.to)).toEqual([
        'failed',
      ]);
      // A finished migration is not failed again.
      await failMigration(stores, 'm1', 'again');
      expect((await stores.migrations.get('m1'))?.reason).toBe(
        'source changed',
      );
      expect(await events(stores)).toHaveLength(1);
      await close(knex);
    },
  );

  it.each(databases.eachSupportedId())(
    'enterStep moves to the step with one step event, only in its state, %p',
    async databaseId => {
      const { knex, stores, notified } = await setup(databaseId, 'running');

      await expect(
        enterStep(stores, 'm1', 'rollback-items', 'Rolling back'),
      ).resolves.toBe(false);
      await expect(
        enterStep(stores, 'm1', 'validate', 'Validating', { items: 3 }),
      ).resolves.toBe(true);

      expect((await stores.migrations.get('m1'))?.phase).toBe('validate');
      expect(await events(stores)).toEqual([
        expect.objectContaining({
          type: 'step',
          message: 'Validating',
          details: { step: 'validate', items: 3 },
        }),
      ]);
      expect(notified.map(e => e.type)).toEqual(['step']);
      await close(knex);
    },
  );
});

import path from 'node:path';
import { TestDatabases } from '@backstage/backend-test-utils';
import { ConflictError } from '@backstage/errors';
import {
  MIGRATION_ACTION_RULES,
  type MigrationAction,
  type MigrationState,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { MigrationEngine } from './types';
import {
  actor,
  allEvents,
  dataset,
  useTestEngines,
  writeFile,
} from './__testUtils__/harness';

jest.setTimeout(60_000);

/** Brings a fresh (awaiting-approval) migration into a state, without workers. */
const reach: Record<
  'awaiting-approval' | 'queued' | 'cancelled',
  (engine: MigrationEngine, id: string) => Promise<unknown>
> = {
  'awaiting-approval': async () => {},
  queued: (engine, id) => engine.approve(id, actor),
  cancelled: (engine, id) => engine.cancel(id, actor),
};

/**
 * The commands refuse an action in a state its rule in -common does not list,
 * with a 409 naming the states it is allowed in (word for word as before the
 * rules moved to -common, which the UI and API clients show to users).
 */
describe('engine commands', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });
  const engines = useTestEngines(databases);

  async function migrationIn(
    databaseId: string,
    state: keyof typeof reach,
  ): Promise<{ engine: MigrationEngine; id: string }> {
    const engine = await engines.setup(databaseId);
    const src = path.join(engines.root, 'src');
    await writeFile(src, 'a.txt', 'a');
    const created = await engine.create(
      {
        dataset: 'resource:default/plays',
        target: { location: `file://${engines.root}/dst` },
        strategy: 'bulk-copy',
      },
      dataset(`file://${src}`),
      actor,
    );
    await reach[state](engine, created.id);
    expect((await engine.get(created.id))?.state).toBe(state);
    return { engine, id: created.id };
  }

  describe.each(databases.eachSupportedId())('%p', databaseId => {
    it.each<[MigrationAction, keyof typeof reach, string]>([
      [
        'approve',
        'cancelled',
        "it is 'cancelled'; approve is only possible when it is 'planned' or 'awaiting-approval'",
      ],
      [
        'cancel',
        'cancelled',
        "it is 'cancelled'; cancel is only possible when it is 'planned' or 'awaiting-approval' or 'queued' or 'running'",
      ],
      [
        'retry',
        'queued',
        "it is 'queued'; retry is only possible when it is 'failed' or 'cancelled'",
      ],
      [
        'retry',
        'awaiting-approval',
        "it is 'awaiting-approval'; retry is only possible when it is 'failed' or 'cancelled'",
      ],
      [
        'rollback',
        'awaiting-approval',
        "it is 'awaiting-approval'; roll back is only possible when it is 'succeeded' or 'failed' or 'cancelled'",
      ],
      [
        'rollback',
        'queued',
        "it is 'queued'; roll back is only possible when it is 'succeeded' or 'failed' or 'cancelled'",
      ],
    ])('refuses %s when the migration is %s', async (action, state, why) => {
      expect(MIGRATION_ACTION_RULES[action].from).not.toContain<MigrationState>(
        state,
      );
      const { engine, id } = await migrationIn(databaseId, state);
      const before = await allEvents(engine, id);

      const error = await engine[action](id, actor).catch(e => e);

      expect(error).toBeInstanceOf(ConflictError);
      const verb = action === 'rollback' ? 'roll back' : action;
      expect(error.message).toBe(`Cannot ${verb} migration '${id}': ${why}`);
      // The allowed states in the message are the rule's, all of them.
      for (const allowed of MIGRATION_ACTION_RULES[action].from) {
        expect(error.message).toContain(`'${allowed}'`);
      }
      // A refusal changes nothing.
      expect((await engine.get(id))?.state).toBe(state);
      expect(await allEvents(engine, id)).toEqual(before);
    });
  });
});

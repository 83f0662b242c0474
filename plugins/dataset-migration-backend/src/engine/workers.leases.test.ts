import fs from 'node:fs/promises';
import path from 'node:path';
import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { FleetStore } from '../database/FleetStore';
import { MigrationStore } from '../database/MigrationStore';
import { WorkItemStore } from '../database/WorkItemStore';
import { createLocalStorageBackend } from '../storage/local/LocalStorageBackend';
import { createMigrationEngine } from './MigrationEngine';
import {
  WrappingBackend,
  actor,
  databaseService,
  dataset,
  tempRoot,
  testConfig,
  waitForState,
  writeFile,
} from './__testUtils__/harness';

jest.setTimeout(60_000);

/**
 * Makes `method` of `proto` do its work, then reject as a flaky database
 * would: the lease is kept, only the failure is reported.
 */
function failAfter<T extends object>(proto: T, method: keyof T & string) {
  const original = proto[method] as unknown as (...a: unknown[]) => unknown;
  return jest
    .spyOn(proto, method as never)
    .mockImplementation(async function failing(this: T, ...args: unknown[]) {
      await original.apply(this, args);
      throw new Error('database is locked');
    } as never);
}

describe('WorkerPool lease failures', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });
  let root: string;

  beforeEach(async () => {
    root = await tempRoot();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await fs.rm(root, { recursive: true, force: true });
  });

  it.each(databases.eachSupportedId())(
    'logs failed heartbeats and releases at warn and keeps working, %p',
    async databaseId => {
      const knex = await databases.init(databaseId);
      const src = path.join(root, 'src');
      await writeFile(src, 'a.csv', 'id\n1\n');
      const itemHeartbeat = failAfter(WorkItemStore.prototype, 'heartbeat');
      const release = failAfter(MigrationStore.prototype, 'releaseDriver');
      const remove = failAfter(FleetStore.prototype, 'remove');
      const logger = mockServices.logger.mock();
      const config = testConfig([root], {
        autoApprove: true,
        workers: { concurrency: 2, leaseSeconds: 0.6, pollIntervalMs: 20 },
      });
      const engine = await createMigrationEngine({
        database: databaseService(knex),
        logger,
        config,
        workerId: 'w1',
        // Each write outlasts a heartbeat interval (lease / 3).
        backends: [
          new WrappingBackend(createLocalStorageBackend(config), {
            writeDelayMs: 500,
            noServerSideCopy: true,
          }),
        ],
      });
      const m = await engine.create(
        {
          dataset: 'resource:default/plays',
          target: { location: `file://${root}/dst` },
          strategy: 'bulk-copy',
        },
        dataset(`file://${src}`),
        actor,
      );
      await engine.start();
      await waitForState(engine, m.id, ['succeeded']);
      await engine.stop();

      expect(itemHeartbeat).toHaveBeenCalled();
      expect(release).toHaveBeenCalled();
      expect(remove).toHaveBeenCalledWith('w1');
      const warnings = logger.warn.mock.calls.map(([message]) => message);
      expect(warnings).toContain(
        `Could not extend the lease on copy of 'a.csv' (migration ${m.id}); another replica may take it over when it expires: database is locked`,
      );
      expect(warnings).toContain(
        `Could not release the driver lease of migration ${m.id}; it is free again when it expires: database is locked`,
      );
      expect(warnings).toContain(
        'Could not record that replica w1 stopped: database is locked',
      );
      expect(logger.debug).not.toHaveBeenCalledWith(
        expect.stringContaining('database is locked'),
      );
    },
  );
});

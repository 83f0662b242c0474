import type {
  BackstageCredentials,
  BackstageUserPrincipal,
  HttpAuthService,
} from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import type { ResourcePermission } from '@backstage/plugin-permission-common';
import {
  createMigrationRequestSchema,
  datasetMigrationApprovePermission,
  datasetMigrationCancelPermission,
  datasetMigrationCreatePermission,
  datasetMigrationReadPermission,
  datasetMigrationRetryPermission,
  datasetMigrationRollbackPermission,
  listEventsQuerySchema,
  listMigrationsQuerySchema,
  type Migration,
  migrationActionRequestSchema,
  parseLocation,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { Request } from 'express';
import Router from 'express-promise-router';
import type {
  DatasetAuthorizer,
  DatasetReadFilter,
} from '../service/authorize';
import { type DatasetResolver, normalizeEntityRef } from '../service/datasets';
import type { LocationComparator } from '../service/locations';
import { normalizeOwnerRef } from '../service/owners';
import type { Actor, MigrationService } from '../service/types';
import { parseInput } from './validation';

/** The actions on an existing migration, each behind its own permission. */
const ACTIONS: Record<
  keyof Pick<MigrationService, 'approve' | 'cancel' | 'rollback' | 'retry'>,
  ResourcePermission<'catalog-entity'>
> = {
  approve: datasetMigrationApprovePermission,
  cancel: datasetMigrationCancelPermission,
  rollback: datasetMigrationRollbackPermission,
  retry: datasetMigrationRetryPermission,
};

/*
 * Ids come from the engine; anything that could not be one is a 404 without
 * touching the database (some column types reject malformed values with a
 * driver error instead of "no rows").
 */
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function actorOf(credentials: BackstageCredentials<BackstageUserPrincipal>) {
  return { ref: credentials.principal.userEntityRef } satisfies Actor;
}

export function createMigrationsRouter(options: {
  httpAuth: HttpAuthService;
  migrations: MigrationService;
  datasets: DatasetResolver;
  authorize: DatasetAuthorizer;
  readFilter: DatasetReadFilter;
  locations: LocationComparator;
}) {
  const { httpAuth, migrations, datasets, authorize, readFilter, locations } =
    options;
  const router = Router();

  async function getMigration(id: string): Promise<Migration> {
    const migration = ID_PATTERN.test(id)
      ? await migrations.get(id)
      : undefined;
    if (!migration) {
      throw new NotFoundError(`Migration '${id}' was not found`);
    }
    return migration;
  }

  const readerOf = (req: Request) =>
    httpAuth.credentials(req, { allow: ['user', 'service'] });

  /** A migration the caller may read: plan, events and report. */
  async function readMigration(
    id: string,
    credentials: BackstageCredentials,
  ): Promise<Migration> {
    const migration = await getMigration(id);
    await authorize(
      datasetMigrationReadPermission,
      migration.dataset,
      credentials,
    );
    return migration;
  }

  router.post('/migrations', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    const request = parseInput(
      createMigrationRequestSchema,
      req.body,
      'migration request',
    );
    const dataset = await datasets.resolve(request.dataset, credentials);
    await authorize(datasetMigrationCreatePermission, dataset.ref, credentials);

    const target = {
      ...request.target,
      location: parseLocation(request.target.location).uri,
    };
    locations.assertDisjoint(dataset.location, target.location);

    const migration = await migrations.create(
      { ...request, dataset: dataset.ref, target },
      {
        ref: dataset.ref,
        location: dataset.location,
        format: dataset.format,
        consumers: dataset.consumers,
        mappingText: dataset.mappingText,
        owner: dataset.owner && normalizeOwnerRef(dataset.owner),
      },
      actorOf(credentials),
    );
    res.status(201).json(migration);
  });

  router.get('/migrations', async (req, res) => {
    const credentials = await readerOf(req);
    const query = parseInput(listMigrationsQuerySchema, req.query, 'query');
    const filter = {
      ...query,
      dataset: query.dataset && normalizeEntityRef(query.dataset),
      owner: query.owner && normalizeOwnerRef(query.owner),
    };
    if (filter.dataset) {
      // One dataset asked for by name: a refusal says so.
      await authorize(
        datasetMigrationReadPermission,
        filter.dataset,
        credentials,
      );
      res.json(await migrations.list(filter));
      return;
    }
    // Otherwise the list holds only what the caller may read, and its
    // totalCount and pages count only those.
    const visible = await readFilter(credentials, () =>
      migrations.listDatasets(filter),
    );
    if (visible === 'all') {
      res.json(await migrations.list(filter));
    } else if (visible.size === 0) {
      res.json({ items: [], totalCount: 0 });
    } else {
      res.json(await migrations.list({ ...filter, datasets: [...visible] }));
    }
  });

  router.get('/migrations/:id', async (req, res) => {
    res.json(await readMigration(req.params.id, await readerOf(req)));
  });

  router.get('/migrations/:id/events', async (req, res) => {
    const credentials = await readerOf(req);
    const query = parseInput(listEventsQuerySchema, req.query, 'query');
    const migration = await readMigration(req.params.id, credentials);
    if (migration.dataPurgedAt) {
      // Deleted by the retention task; the last ones are in `dataSummary`.
      res.json({ items: [] });
      return;
    }
    res.json({ items: await migrations.listEvents(migration.id, query) });
  });

  router.get('/migrations/:id/report', async (req, res) => {
    const migration = await readMigration(req.params.id, await readerOf(req));
    if (migration.dataPurgedAt) {
      const retention = migration.dataSummary?.dataAge;
      throw new NotFoundError(
        `The validation report of migration '${migration.id}' was purged on ${
          migration.dataPurgedAt
        } after the retention${
          retention ? ` of ${retention}` : ''
        } (datasetMigration.retention.dataAge); its summary is in the migration's dataSummary`,
      );
    }
    const report = await migrations.getReport(migration.id);
    if (!report) {
      throw new NotFoundError(
        `Migration '${migration.id}' has no validation report yet (state: ${migration.state})`,
      );
    }
    res.json(report);
  });

  for (const action of Object.keys(ACTIONS) as Array<keyof typeof ACTIONS>) {
    router.post(`/migrations/:id/${action}`, async (req, res) => {
      const credentials = await httpAuth.credentials(req, { allow: ['user'] });
      const { reason } = parseInput(
        migrationActionRequestSchema,
        req.body,
        `${action} request`,
      );
      const migration = await getMigration(req.params.id);
      await authorize(ACTIONS[action], migration.dataset, credentials);
      res.json(
        await migrations[action](migration.id, actorOf(credentials), reason),
      );
    });
  }

  return router;
}

import type { HttpAuthService } from '@backstage/backend-plugin-api';
import Router from 'express-promise-router';
import { z } from 'zod';
import type { DatasetResolver } from '../service/datasets';
import type { MigrationService } from '../service/types';
import { parseInput } from './validation';

const locationQuerySchema = z
  .object({ entityRef: z.string().min(1).max(512) })
  .strict();

/**
 * `GET /datasets/location?entityRef=`: where a dataset's data lives now, i.e.
 * after the last cutover. Consumers (and the scaffolder) read this instead of
 * the catalog annotation, which still names the pre-migration location until
 * someone edits the entity.
 */
export function createDatasetsRouter(options: {
  httpAuth: HttpAuthService;
  migrations: MigrationService;
  datasets: DatasetResolver;
}) {
  const { httpAuth, migrations, datasets } = options;
  const router = Router();

  router.get('/datasets/location', async (req, res) => {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const { entityRef } = parseInput(locationQuerySchema, req.query, 'query');
    const dataset = await datasets.resolve(entityRef, credentials);
    const migratedBy =
      dataset.location === dataset.annotationLocation
        ? undefined
        : await migrations.findCutover(dataset.ref, dataset.location);
    res.json({
      entityRef: dataset.ref,
      location: dataset.location,
      ...(dataset.format ? { format: dataset.format } : {}),
      ...(migratedBy ? { migratedBy } : {}),
    });
  });

  return router;
}

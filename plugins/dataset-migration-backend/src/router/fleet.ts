import type { HttpAuthService } from '@backstage/backend-plugin-api';
import Router from 'express-promise-router';
import type { MigrationService } from '../service/types';

/** `GET /fleet`: queue depth, workers and throughput across replicas. */
export function createFleetRouter(options: {
  httpAuth: HttpAuthService;
  migrations: MigrationService;
}) {
  const { httpAuth, migrations } = options;
  const router = Router();

  router.get('/fleet', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    res.json(await migrations.getFleetStatus());
  });

  return router;
}

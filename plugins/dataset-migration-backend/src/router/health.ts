import type { HttpAuthService } from '@backstage/backend-plugin-api';
import { ServiceUnavailableError } from '@backstage/errors';
import Router from 'express-promise-router';

/**
 * `GET /health`: authenticated (it tells whether this plugin's database
 * answers, which is more than an anonymous caller needs to know).
 */
export function createHealthRouter(options: {
  httpAuth: HttpAuthService;
  checkDatabase: () => Promise<void>;
}) {
  const { httpAuth, checkDatabase } = options;
  const router = Router();

  router.get('/health', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    try {
      await checkDatabase();
    } catch (error) {
      // The driver's message can carry connection details; keep it out of
      // the response.
      throw new ServiceUnavailableError('The database does not answer');
    }
    res.json({ status: 'ok' });
  });

  return router;
}

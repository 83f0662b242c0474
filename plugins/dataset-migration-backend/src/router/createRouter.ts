import type {
  HttpAuthService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { isError } from '@backstage/errors';
import express from 'express';
import Router from 'express-promise-router';
import type { DatasetAuthorizer } from '../service/authorize';
import type { DatasetResolver } from '../service/datasets';
import type { LocationComparator } from '../service/locations';
import type { MigrationService } from '../service/types';
import { createDatasetsRouter } from './datasets';
import { createFleetRouter } from './fleet';
import { createHealthRouter } from './health';
import { createMigrationsRouter } from './migrations';

export interface RouterOptions {
  httpAuth: HttpAuthService;
  logger: LoggerService;
  migrations: MigrationService;
  datasets: DatasetResolver;
  authorize: DatasetAuthorizer;
  locations: LocationComparator;
  /** Resolves when the plugin's database answers a trivial query. */
  checkDatabase: () => Promise<void>;
}

/** Errors whose message was written for the caller and is safe to return. */
const CLIENT_ERRORS = new Set([
  'InputError',
  'AuthenticationError',
  'NotAllowedError',
  'NotFoundError',
  'ConflictError',
  'NotModifiedError',
  'NotImplementedError',
  'ServiceUnavailableError',
]);

export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const router = Router();
  // Request bodies are small JSON documents; mappings are capped by the schema.
  router.use(express.json({ limit: '1mb' }));

  router.use(createHealthRouter(options));
  router.use(createMigrationsRouter(options));
  router.use(createFleetRouter(options));
  router.use(createDatasetsRouter(options));

  // Anything else (driver errors, SDK errors from a storage backend) may
  // carry hostnames, keys or signed URLs in its message: log it here, where
  // the logger redacts configured secrets, and answer with a generic 500.
  router.use(
    (
      error: unknown,
      req: express.Request,
      _res: express.Response,
      next: express.NextFunction,
    ) => {
      if (
        isError(error) &&
        (CLIENT_ERRORS.has(error.name) || isHttpError(error))
      ) {
        next(error);
        return;
      }
      options.logger.error(
        `${req.method} ${req.path} failed`,
        isError(error) ? error : { error: String(error) },
      );
      next(
        new Error(
          'The dataset-migration backend failed to handle the request; see its logs for details',
        ),
      );
    },
  );

  return router;
}

/** body-parser and friends set a 4xx `status` on malformed requests. */
function isHttpError(error: Error): boolean {
  const status = (error as { status?: unknown; statusCode?: unknown }).status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

import type {
  HttpAuthService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { isError } from '@backstage/errors';
import express from 'express';
import Router from 'express-promise-router';
import type {
  DatasetAuthorizer,
  DatasetReadFilter,
} from '../service/authorize';
import type { DatasetResolver } from '../service/datasets';
import type { LocationComparator } from '../service/locations';
import type { MigrationService } from '../service/types';
import { requireJsonBody } from './contentType';
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
  /** Which datasets' migrations a caller may list. */
  readFilter: DatasetReadFilter;
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
  // Request bodies are small JSON documents; mappings are capped by the
  // schema. Any other content type is a 415, not a body of missing fields.
  router.use(requireJsonBody());
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
        const clean = withoutCause(error);
        if (clean !== error) {
          options.logger.warn(
            `${req.method} ${req.path} answered ${error.name}`,
            error,
          );
        }
        next(clean);
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
  const e = error as { status?: unknown; statusCode?: unknown };
  const status = e.statusCode ?? e.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * The error as the caller may see it. A `cause` (an SDK or socket error)
 * would be serialized into the body with every property it has (address,
 * port, errno, request ids), and `@backstage/errors` appends its text to a
 * 503's message: drop both, keeping the name (hence the status).
 */
function withoutCause(error: Error): Error {
  if ((error as { cause?: unknown }).cause === undefined) {
    return error;
  }
  let message = error.message;
  if (error.name === 'ServiceUnavailableError') {
    const at = message.indexOf('caused by ');
    if (at === 0 || message.slice(at - 2, at) === '; ') {
      message =
        message.slice(0, Math.max(0, at - 2)) ||
        'A storage service did not answer';
    }
  }
  const clean = new Error(message);
  clean.name = error.name;
  const status = error as { statusCode?: unknown; status?: unknown };
  Object.assign(clean, {
    ...(typeof status.statusCode === 'number' && {
      statusCode: status.statusCode,
    }),
    ...(typeof status.status === 'number' && { status: status.status }),
  });
  delete clean.stack;
  return clean;
}

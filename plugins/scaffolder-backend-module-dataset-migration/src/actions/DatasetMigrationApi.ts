import type {
  AuthService,
  BackstageCredentials,
  DiscoveryService,
} from '@backstage/backend-plugin-api';
import {
  ConflictError,
  ForwardedError,
  InputError,
  NotAllowedError,
  NotFoundError,
  ResponseError,
} from '@backstage/errors';
import type {
  CreateMigrationRequest,
  Migration,
  MigrationActionRequest,
} from '@internal/backstage-plugin-dataset-migration-common';

const PLUGIN_ID = 'dataset-migration';
const REQUEST_TIMEOUT_MS = 60_000;

/**
 * The few dataset-migration backend routes the scaffolder actions call. Every
 * call is made on behalf of the given credentials (the user running the
 * template), so the backend authorises the user, not the scaffolder.
 */
export class DatasetMigrationApi {
  constructor(
    private readonly options: {
      discovery: DiscoveryService;
      auth: AuthService;
    },
  ) {}

  createMigration(
    request: CreateMigrationRequest,
    credentials: BackstageCredentials,
  ): Promise<Migration> {
    return this.post(
      '/migrations',
      request,
      credentials,
      `Could not create a migration of ${request.dataset}`,
    );
  }

  approveMigration(
    migrationId: string,
    request: MigrationActionRequest,
    credentials: BackstageCredentials,
  ): Promise<Migration> {
    return this.post(
      `/migrations/${encodeURIComponent(migrationId)}/approve`,
      request,
      credentials,
      `Could not approve migration ${migrationId}`,
    );
  }

  private async post<T>(
    path: string,
    body: unknown,
    credentials: BackstageCredentials,
    failure: string,
  ): Promise<T> {
    const { discovery, auth } = this.options;
    const baseUrl = await discovery.getBaseUrl(PLUGIN_ID);
    const { token } = await auth.getPluginRequestToken({
      onBehalfOf: credentials,
      targetPluginId: PLUGIN_ID,
    });
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (!response.ok) {
      throw await toError(response, failure);
    }
    return (await response.json()) as T;
  }
}

/**
 * Keeps the server's own message (a `ResponseError` alone only says "Request
 * failed with 400") and maps the status back to the matching error class.
 *
 * The mapped errors carry no cause: the task page shows the message to the
 * person who ran the template, and "; caused by ResponseError: Request failed
 * with 403 Forbidden" after "You are not allowed to …" only adds noise.
 */
async function toError(response: Response, failure: string): Promise<Error> {
  const error = await ResponseError.fromResponse(response);
  const message = `${failure}: ${error.cause.message}`;
  switch (error.statusCode) {
    case 400:
      return new InputError(message);
    case 403:
      return new NotAllowedError(message);
    case 404:
      return new NotFoundError(message);
    case 409:
      return new ConflictError(message);
    default:
      return new ForwardedError(message, error);
  }
}

import type { DiscoveryApi, FetchApi } from '@backstage/frontend-plugin-api';
import { ResponseError } from '@backstage/errors';
import type {
  CreateMigrationRequest,
  FleetStatus,
  Migration,
  MigrationAction,
  MigrationEvent,
  ValidationReport,
} from '@internal/backstage-plugin-dataset-migration-common';
import type {
  DatasetLocationResponse,
  DatasetMigrationApi,
  ListMigrationsOptions,
} from './DatasetMigrationApi';

/**
 * Talks to `/api/dataset-migration` through the app's discovery and fetch
 * APIs, so requests carry the user's Backstage token.
 *
 * @public
 */
export class DatasetMigrationClient implements DatasetMigrationApi {
  private readonly discoveryApi: DiscoveryApi;
  private readonly fetchApi: FetchApi;

  constructor(options: { discoveryApi: DiscoveryApi; fetchApi: FetchApi }) {
    this.discoveryApi = options.discoveryApi;
    this.fetchApi = options.fetchApi;
  }

  createMigration(request: CreateMigrationRequest): Promise<Migration> {
    return this.request('POST', 'migrations', undefined, request);
  }

  listMigrations(
    options: ListMigrationsOptions = {},
  ): Promise<{ items: Migration[]; totalCount: number }> {
    return this.request('GET', 'migrations', {
      dataset: options.dataset,
      state: options.state,
      owner: options.owner,
      limit: options.limit,
      offset: options.offset,
    });
  }

  getMigration(id: string): Promise<Migration> {
    return this.request('GET', `migrations/${encodeURIComponent(id)}`);
  }

  listEvents(
    id: string,
    options: { after?: number; limit?: number } = {},
  ): Promise<{ items: MigrationEvent[] }> {
    return this.request('GET', `migrations/${encodeURIComponent(id)}/events`, {
      after: options.after,
      limit: options.limit,
    });
  }

  async getReport(id: string): Promise<ValidationReport | undefined> {
    const response = await this.send(
      'GET',
      `migrations/${encodeURIComponent(id)}/report`,
    );
    // The API answers 404 until the validate step has stored a report.
    if (response.status === 404) {
      return undefined;
    }
    return this.parse(response);
  }

  approveMigration(id: string, reason?: string): Promise<Migration> {
    return this.action(id, 'approve', reason);
  }

  cancelMigration(id: string, reason?: string): Promise<Migration> {
    return this.action(id, 'cancel', reason);
  }

  rollbackMigration(id: string, reason?: string): Promise<Migration> {
    return this.action(id, 'rollback', reason);
  }

  retryMigration(id: string, reason?: string): Promise<Migration> {
    return this.action(id, 'retry', reason);
  }

  getFleetStatus(): Promise<FleetStatus> {
    return this.request('GET', 'fleet');
  }

  getDatasetLocation(entityRef: string): Promise<DatasetLocationResponse> {
    return this.request('GET', 'datasets/location', { entityRef });
  }

  private action(
    id: string,
    action: MigrationAction,
    reason?: string,
  ): Promise<Migration> {
    return this.request(
      'POST',
      `migrations/${encodeURIComponent(id)}/${action}`,
      undefined,
      reason ? { reason } : {},
    );
  }

  private async request<T>(
    method: 'GET' | 'POST',
    path: string,
    query?: Record<string, string | number | undefined>,
    body?: unknown,
  ): Promise<T> {
    return this.parse(await this.send(method, path, query, body));
  }

  private async send(
    method: 'GET' | 'POST',
    path: string,
    query?: Record<string, string | number | undefined>,
    body?: unknown,
  ): Promise<Response> {
    const baseUrl = await this.discoveryApi.getBaseUrl('dataset-migration');
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== '') {
        params.set(key, String(value));
      }
    }
    const search = params.toString();
    const url = `${baseUrl}/${path}${search ? `?${search}` : ''}`;
    return this.fetchApi.fetch(url, {
      method,
      ...(body !== undefined && {
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      }),
    });
  }

  private async parse<T>(response: Response): Promise<T> {
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    return (await response.json()) as T;
  }
}

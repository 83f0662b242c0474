import type {
  AuthService,
  DiscoveryService,
} from '@backstage/backend-plugin-api';
import { ForwardedError, ResponseError } from '@backstage/errors';
import type { Migration } from '@internal/backstage-plugin-dataset-migration-common';

/** The API's own cap on `limit` (see `listMigrationsQuerySchema`). */
export const MAX_PAGE_SIZE = 500;

const REQUEST_TIMEOUT_MS = 30_000;

/** Where the dataset-migration backend lives and how to call it. */
export interface DatasetMigrationApiOptions {
  discovery: DiscoveryService;
  auth: AuthService;
}

/**
 * Reads every migration from `GET /migrations`, page by page.
 *
 * Pages are fetched sequentially with offsets; a migration created while
 * paging may shift later pages, so results are de-duplicated by id and
 * anything missed is picked up on the next refresh.
 */
export async function listAllMigrations(
  options: DatasetMigrationApiOptions & { pageSize?: number },
): Promise<{ baseUrl: string; migrations: Migration[] }> {
  const { discovery, auth } = options;
  const pageSize = Math.min(options.pageSize ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE);
  const baseUrl = await discovery.getBaseUrl('dataset-migration');
  const { token } = await auth.getPluginRequestToken({
    onBehalfOf: await auth.getOwnServiceCredentials(),
    targetPluginId: 'dataset-migration',
  });

  const byId = new Map<string, Migration>();
  // Advance by what the server returned, not by what was asked for: a server
  // with a lower cap on `limit` must not make us skip migrations.
  for (let offset = 0; ; ) {
    const url = `${baseUrl}/migrations?limit=${pageSize}&offset=${offset}`;
    const response = await fetch(url, {
      headers: { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (!response.ok) {
      const error = await ResponseError.fromResponse(response);
      throw new ForwardedError(
        `GET ${url} failed: ${error.cause.message}`,
        error,
      );
    }
    const page = (await response.json()) as {
      items?: Migration[];
      totalCount?: number;
    };
    if (!Array.isArray(page.items)) {
      throw new TypeError(
        `GET ${url} returned no 'items' array; is the dataset-migration backend up to date?`,
      );
    }
    for (const item of page.items) {
      byId.set(item.id, item);
    }
    offset += page.items.length;
    if (page.items.length === 0 || offset >= (page.totalCount ?? 0)) {
      break;
    }
  }
  return { baseUrl, migrations: [...byId.values()] };
}

import type { Storage } from '@google-cloud/storage';

/** What the client library's `Storage` exposes of its endpoint and auth. */
interface StorageAuth {
  apiEndpoint: string;
  customEndpoint?: boolean;
  useAuthWithCustomEndpoint?: boolean;
  authClient: {
    authorizeRequest(opts: { headers?: unknown }): Promise<{
      headers?: unknown;
    }>;
  };
}

/** Headers of any shape (a fetch `Headers` or a plain object) as a plain object. */
function plainHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  if (typeof (headers as Headers).forEach === 'function') {
    (headers as Headers).forEach((value, name) => {
      out[name] = value;
    });
    return out;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = String(value);
  }
  return out;
}

/**
 * The headers that authorise a request as the client library would: none
 * for a custom endpoint without `useAuthWithCustomEndpoint` (an emulator),
 * else its auth client's (a cached OAuth token, refreshed when it expires).
 */
export async function authHeaders(
  storage: Storage,
): Promise<Record<string, string>> {
  const s = storage as unknown as StorageAuth;
  if (s.customEndpoint && !s.useAuthWithCustomEndpoint) return {};
  const authorized = await s.authClient.authorizeRequest({ headers: {} });
  return plainHeaders(authorized.headers);
}

/** The JSON API endpoint the client library sends to (no trailing slash). */
export function apiEndpoint(storage: Storage): string {
  return (storage as unknown as StorageAuth).apiEndpoint.replace(/\/+$/, '');
}

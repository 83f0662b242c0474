import { createHash } from 'node:crypto';
import { Storage } from '@google-cloud/storage';

/** A CRC32C as the store reports it (8 hex digits). */
export const hexCrc32c = (n: number) => n.toString(16).padStart(8, '0');

/** The hex MD5 of `data`. */
export const md5Hex = (data: Buffer) =>
  createHash('md5').update(data).digest('hex');

/**
 * Two clients of `endpoint` whose credential provider stands in for a
 * Google account (none here): one with `useAuthWithCustomEndpoint` (it
 * sends `Authorization: Bearer test-token`), one without (an emulator
 * endpoint: the client sends no credentials).
 */
export function standInAuthClients(endpoint: string) {
  const authClient = {
    getRequestHeaders: async () => ({ Authorization: 'Bearer test-token' }),
  };
  return [true, false].map(
    useAuthWithCustomEndpoint =>
      new Storage({
        apiEndpoint: endpoint,
        projectId: 'test',
        useAuthWithCustomEndpoint,
        authClient: authClient as any,
      }),
  );
}

/**
 * `@google-cloud/storage` 8 loads its HTTP client with `import('node-fetch')`
 * (teeny-request, gaxios 7). Jest runs CommonJS in a vm without dynamic import
 * support unless Node starts with --experimental-vm-modules, which a package
 * cannot arrange. Outside Jest nothing here is needed.
 *
 * - teeny-request and google-auth-library's gaxios switch to their own
 *   node:http based fetch when they see `globalThis.Bun`;
 * - the gaxios instance the resumable uploader uses for custom endpoints
 *   takes Node's built-in fetch as its default implementation.
 */
export function installGcsClientJestShims() {
  const g = globalThis as { Bun?: unknown };
  g.Bun ??= { shimmedForJest: true };
  const gaxiosPath = require.resolve('gaxios', {
    paths: [require.resolve('@google-cloud/storage')],
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const gaxios = require(gaxiosPath);
  gaxios.instance.defaults.fetchImplementation ??= globalThis.fetch;
}

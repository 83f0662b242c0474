/**
 * Test support shared by the storage backend modules: a GCS JSON-API test
 * server, a fault-injecting proxy, the GCS client's Jest shims. The
 * ObjectStore conformance suite and test data helpers live in
 * `@internal/backstage-plugin-dataset-migration-node/testUtils`.
 */
export { GcsTestServer } from './GcsTestServer';
export type { GcsTestServerOptions, GcsTestServerStats } from './GcsTestServer';
export { installGcsClientJestShims } from './jestShims';
export { startFaultProxy } from './faultProxy';
export type { Fault, FaultProxy, FaultRequestInfo } from './faultProxy';

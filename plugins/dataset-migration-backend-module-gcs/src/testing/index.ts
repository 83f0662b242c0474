/**
 * Test support shared by the storage backend modules: a GCS JSON-API test
 * server, a fault-injecting proxy, the ObjectStore conformance suite.
 */
export { GcsTestServer } from './GcsTestServer';
export type { GcsTestServerOptions, GcsTestServerStats } from './GcsTestServer';
export { installGcsClientJestShims } from './jestShims';
export { startFaultProxy } from './faultProxy';
export type { Fault, FaultProxy, FaultRequestInfo } from './faultProxy';
export { describeObjectStoreConformance } from './conformance';
export type { ConformanceContext } from './conformance';
export { generatedStream, hashStream } from './data';

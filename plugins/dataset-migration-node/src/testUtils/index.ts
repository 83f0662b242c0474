/**
 * Test support for storage backends: the `ObjectStore` conformance suite
 * every backend runs, and deterministic large test data.
 *
 * @packageDocumentation
 */
export { describeObjectStoreConformance } from './conformance';
export type {
  ConformanceCaseId,
  ConformanceContext,
  ConformanceOptions,
} from './conformance';
export { generatedStream, hashStream } from './data';

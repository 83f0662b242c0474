/**
 * Extension points and the StorageBackend interface of the dataset-migration
 * plugin.
 *
 * @packageDocumentation
 */
export * from './storage';
export * from './retryableError';
export * from './throttling';
export * from './extensions';
export * from './rateLimiter';
export * from './checksums';
export * from './stallGuard';
export * from './connectionFailure';
export * from './pipeStreams';

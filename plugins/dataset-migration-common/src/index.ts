/**
 * Types, zod schemas, permissions and the Migration kind shared by the
 * dataset-migration plugins.
 *
 * @packageDocumentation
 */
export * from './annotations';
export * from './location';
export * from './mapping';
export * from './permissions';
export * from './relations';
export * from './stateMachine';
export * from './schemas';
export * from './types';
export * from './migrationEntity';

import type { MigrationEngine, MigrationEngineOptions } from './types';

export async function createMigrationEngine(
  _options: MigrationEngineOptions,
): Promise<MigrationEngine> {
  const notImplemented = async (): Promise<never> => {
    throw new Error('not implemented');
  };
  return {
    start: async () => {},
    stop: async () => {},
    create: notImplemented,
    get: notImplemented,
    list: notImplemented,
    approve: notImplemented,
    cancel: notImplemented,
    rollback: notImplemented,
    retry: notImplemented,
    listEvents: notImplemented,
    getReport: notImplemented,
    getFleetStatus: notImplemented,
    getEffectiveLocation: notImplemented,
  };
}

import type { MigrationRow } from '../database/MigrationStore';
import type { Stores } from './context';
import { changeState } from './transitions';

/**
 * Makes the target the dataset's effective location. The location is derived
 * from the latest succeeded migration (see MigrationStore.effectiveLocation),
 * so leaving `succeeded` through a rollback reverts it without extra state.
 */
export async function cutover(stores: Stores, m: MigrationRow): Promise<void> {
  await changeState(stores, m.id, ['running'], 'succeeded', {
    phase: null,
    cutoverAt: Date.now(),
    details: {
      effectiveLocation: m.targetLocation,
      previousLocation: m.sourceLocation,
    },
  });
}

import type { ClaimedPart } from '../database/PartStore';
import { AbandonedError, type EngineContext, type StoreCache } from './context';
import { errorMessage } from './itemContext';
import { copyPart } from './partedCopy';
import { isTransformUpload, transformPart } from './transformParts';

/**
 * A part an idle lane claimed (WorkerPool): opens its migration's stores,
 * records a take-over from a replica whose lease expired, and writes it.
 * Its outcome is recorded on the part; only a failure to record it is
 * logged, and nothing once this replica abandons its work. Returns whether
 * the part was attempted.
 */
export async function writeClaimedPart(
  engine: EngineContext,
  cache: StoreCache,
  part: ClaimedPart,
  recordTakeover: () => Promise<void>,
): Promise<boolean> {
  try {
    const opened = await cache.getById(part.migrationId, () =>
      engine.stores.migrations.get(part.migrationId),
    );
    if (!opened) return false;
    if (part.reclaimedFrom) await recordTakeover();
    if (isTransformUpload(part.uploadId)) {
      await transformPart(engine, opened, part);
    } else {
      await copyPart(engine, opened, part);
    }
    return true;
  } catch (e) {
    if (e instanceof AbandonedError || engine.signal.aborted) return false;
    engine.logger.warn(
      `Could not record part ${part.number} of '${part.key}': ${errorMessage(
        e,
      )}`,
    );
    return false;
  }
}

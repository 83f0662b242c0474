import type { ObjectStore } from '@internal/backstage-plugin-dataset-migration-node';
import type { WorkItem, WorkItemStore } from '../database/WorkItemStore';

export type ItemPatch = Parameters<WorkItemStore['update']>[2];

/** What a stage needs to process one leased work item. */
export interface ItemContext {
  item: WorkItem;
  source: ObjectStore;
  target: ObjectStore;
  /** Where originals of overwritten target objects are kept. */
  backups: ObjectStore;
  signal: AbortSignal;
  /** Persists progress; throws {@link LeaseLostError} if another worker took over. */
  save(patch: ItemPatch): Promise<void>;
}

/** The item's lease expired and another worker owns it now: stop quietly. */
export class LeaseLostError extends Error {
  name = 'LeaseLostError';
}

/** Copies one object between stores, server-side when the target can. */
export async function transfer(
  from: ObjectStore,
  fromKey: string,
  to: ObjectStore,
  toKey: string,
  signal: AbortSignal,
): Promise<'server-side' | 'stream'> {
  if (to.copyWithin) {
    const result = await to.copyWithin(from, fromKey, toKey);
    if (result) return 'server-side';
  }
  const body = await from.read(fromKey);
  const info = await from.stat(fromKey);
  await to.write(toKey, body, { size: info?.size, signal });
  return 'stream';
}

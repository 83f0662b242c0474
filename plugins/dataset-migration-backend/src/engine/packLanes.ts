import type { WorkItem } from '../database/WorkItemStore';

/**
 * Splits claimed items into at most `lanes` batches of about equal bytes,
 * each a run of neighbouring items (in id order, which is the order the
 * source listed them): a lane's batch then holds neighbouring keys, so one
 * listing of the target answers for all of it (listedTargets.ts), and a few
 * large objects still land on different lanes, since a batch closes once it
 * holds its share of the bytes left. Every batch gets at least one item.
 */
export function packLanes(items: WorkItem[], lanes: number): WorkItem[][] {
  const sorted = [...items].sort((x, y) => x.id - y.id);
  const count = Math.min(Math.max(1, lanes), sorted.length);
  const batches: WorkItem[][] = [];
  let left = sorted.reduce((sum, item) => sum + item.size, 0);
  let batch: WorkItem[] = [];
  let bytes = 0;
  sorted.forEach((item, i) => {
    batch.push(item);
    bytes += item.size;
    const batchesLeft = count - batches.length;
    const itemsLeft = sorted.length - i - 1;
    // Its share of what is left (an empty batch's share of nothing is a
    // batch too), unless the rest could not fill the other batches.
    const full = bytes >= left / batchesLeft || itemsLeft < batchesLeft;
    if (batchesLeft > 1 && full && itemsLeft >= batchesLeft - 1) {
      batches.push(batch);
      left -= bytes;
      batch = [];
      bytes = 0;
    }
  });
  if (batch.length > 0) batches.push(batch);
  return batches;
}

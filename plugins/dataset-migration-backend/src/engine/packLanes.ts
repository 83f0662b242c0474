import type { WorkItem } from '../database/WorkItemStore';

/**
 * Splits claimed items into at most `lanes` batches of about equal bytes,
 * each a run of neighbouring items (in id order, which is the order the
 * source listed them): a lane's batch then holds neighbouring keys, so one
 * listing of the target answers for all of it (listedTargets.ts). A batch
 * ends where its share of the bytes left is closest, so large objects still
 * land on different lanes. Every batch gets at least one item.
 */
export function packLanes(items: WorkItem[], lanes: number): WorkItem[][] {
  const sorted = [...items].sort((x, y) => x.id - y.id);
  const count = Math.min(Math.max(1, lanes), sorted.length);
  const batches: WorkItem[][] = [];
  /** Bytes of the items not in a closed batch. */
  let left = sorted.reduce((sum, item) => sum + item.size, 0);
  let batch: WorkItem[] = [];
  let bytes = 0;
  const close = () => {
    batches.push(batch);
    left -= bytes;
    batch = [];
    bytes = 0;
  };
  sorted.forEach((item, i) => {
    // Batches left, the open one included, and items left, this one too.
    let batchesLeft = count - batches.length;
    if (batch.length > 0 && batchesLeft > 1) {
      const share = left / batchesLeft;
      // The batch ends before this item when the item would take it further
      // past its share than it now falls short, or when every item left is
      // needed to give each other batch one.
      if (
        bytes + item.size - share > share - bytes ||
        sorted.length - i < batchesLeft
      ) {
        close();
      }
    }
    batch.push(item);
    bytes += item.size;
    batchesLeft = count - batches.length;
    const others = sorted.length - i - 1;
    if (
      batchesLeft > 1 &&
      bytes >= left / batchesLeft &&
      others >= batchesLeft - 1
    ) {
      close();
    }
  });
  if (batch.length > 0) batches.push(batch);
  return batches;
}

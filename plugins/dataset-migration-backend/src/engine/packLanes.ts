import type { WorkItem } from '../database/WorkItemStore';

/**
 * Splits claimed items into `lanes` batches of about equal bytes (largest
 * first onto the lightest lane), so a few large objects spread over the
 * lanes and small ones share them.
 */
export function packLanes(items: WorkItem[], lanes: number): WorkItem[][] {
  const bins = Array.from({ length: Math.max(1, lanes) }, () => ({
    bytes: 0,
    items: [] as WorkItem[],
  }));
  for (const item of [...items].sort((a, b) => b.size - a.size)) {
    let best = bins[0];
    for (const bin of bins) {
      if (
        bin.bytes < best.bytes ||
        (bin.bytes === best.bytes && bin.items.length < best.items.length)
      )
        best = bin;
    }
    best.bytes += item.size;
    best.items.push(item);
  }
  return bins
    .filter(b => b.items.length > 0)
    .map(b => b.items.sort((x, y) => x.id - y.id));
}

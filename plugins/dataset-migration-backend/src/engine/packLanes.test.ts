import type { WorkItem } from '../database/WorkItemStore';
import { packLanes } from './packLanes';

const items = (sizes: number[]) =>
  // Claimed in any order: ids say the source's listing order.
  sizes.map((size, i) => ({ id: i + 1, size } as WorkItem)).reverse();

const ids = (batches: WorkItem[][]) => batches.map(b => b.map(i => i.id));

/** Each batch a non-empty run of neighbouring ids, every item once. */
function expectRuns(batches: WorkItem[][], count: number) {
  const flat = ids(batches).flat();
  expect(flat).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  expect(batches.every(b => b.length > 0)).toBe(true);
}

describe('packLanes', () => {
  it('gives each lane a run of neighbouring items (keys), of equal bytes', () => {
    const batches = packLanes(items(Array(512).fill(4096)), 8);
    expect(batches).toHaveLength(8);
    expectRuns(batches, 512);
    expect(batches.map(b => b.length)).toEqual(Array(8).fill(64));
  });

  it('puts large objects on different lanes', () => {
    expect(ids(packLanes(items(Array(8).fill(256 << 20)), 8))).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map(id => [id]),
    );
    // One large object first: alone; the small ones share the other lanes.
    const first = packLanes(items([1000 << 20, ...Array(98).fill(4096)]), 8);
    expectRuns(first, 99);
    expect(ids(first)[0]).toEqual([1]);
    expect(first.slice(1).map(b => b.length)).toEqual(Array(7).fill(14));
    // Two large objects among small ones: not on one lane.
    const two = packLanes(
      items([100 << 20, 100 << 20, ...Array(100).fill(1024)]),
      2,
    );
    expectRuns(two, 102);
    expect(ids(two)[0]).toEqual([1]);
    // In the middle: its lane holds little else.
    const middle = packLanes(
      items([...Array(50).fill(4096), 1000 << 20, ...Array(49).fill(4096)]),
      4,
    );
    expectRuns(middle, 100);
    expect(middle).toHaveLength(4);
    expect(ids(middle).find(b => b.includes(51))).toEqual([51]);
  });

  it('fills every lane it can, one item at least each', () => {
    expect(ids(packLanes(items([10, 20, 30]), 8))).toEqual([[1], [2], [3]]);
    // Bytes would put everything on the first lane: the others still get one.
    const skewed = packLanes(items([1 << 30, 1, 1, 1, 1]), 4);
    expect(skewed).toHaveLength(4);
    expectRuns(skewed, 5);
    const empty = packLanes(items([0, 0, 0, 0, 0]), 3);
    expect(empty).toHaveLength(3);
    expectRuns(empty, 5);
    expect(ids(packLanes(items([5, 6]), 0))).toEqual([[1, 2]]);
    expect(packLanes([], 4)).toEqual([]);
  });
});

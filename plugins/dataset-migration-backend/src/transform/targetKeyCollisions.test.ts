import type { TabularFormat } from '@internal/backstage-plugin-dataset-migration-common';
import { syntheticKey } from '../engine/__testUtils__/syntheticListing';
import { isDataKey, targetKeyOf } from './planTransform';
import { TargetKeyCollisions } from './targetKeyCollisions';

/** The transform request's rule (transformRequest.ts). */
function collisions(source: TabularFormat, target: TabularFormat) {
  return new TargetKeyCollisions(source, target, key =>
    isDataKey(key, source) ? targetKeyOf(key, source, target) : key,
  );
}

describe('TargetKeyCollisions', () => {
  it('names both source keys of each target key written twice', () => {
    const c = collisions('csv', 'parquet');
    for (const key of [
      'a.csv',
      'x/b.CSV',
      'keep.txt',
      'a.parquet', // copied as it is, onto a.csv's target
      'x/b.csv',
      'c.csv',
      'c.parquet.txt',
      'C.csv',
    ]) {
      c.add(key);
    }
    expect(c.count).toBe(2);
    expect(c.found).toEqual([
      { targetKey: 'a.parquet', sources: ['a.csv', 'a.parquet'] },
      { targetKey: 'x/b.parquet', sources: ['x/b.CSV', 'x/b.csv'] },
    ]);
    expect(c.problem()?.message).toBe(
      "2 target key(s) would be written by two source objects ('a.csv' and 'a.parquet' → 'a.parquet'; 'x/b.CSV' and 'x/b.csv' → 'x/b.parquet'); rename or remove one of each pair, or migrate them separately",
    );
  });

  it('counts every further source of one target key, in any order', () => {
    const c = collisions('ndjson', 'csv');
    c.add('d/e.jsonl');
    c.add('d/e.csv');
    c.add('d/e.NDJSON');
    c.add('d/e.json');
    expect(c.count).toBe(3);
    expect(c.found.map(f => f.sources)).toEqual([
      ['d/e.csv', 'd/e.jsonl'],
      ['d/e.NDJSON', 'd/e.jsonl'],
      ['d/e.json', 'd/e.jsonl'],
    ]);
    expect(c.found.every(f => f.targetKey === 'd/e.csv')).toBe(true);
  });

  it('finds case twins when the format stays, and ignores a key listed twice', () => {
    const c = collisions('csv', 'csv');
    c.add('a.csv');
    c.add('a.csv');
    expect(c.problem()).toBeUndefined();
    c.add('a.CSV');
    expect(c.found).toEqual([
      { targetKey: 'a.csv', sources: ['a.CSV', 'a.csv'] },
    ]);
  });

  it('confirms named collisions with a stat of both keys when asked', async () => {
    const c = collisions('csv', 'parquet');
    for (const key of ['a.csv', 'a.parquet', 'b.csv', 'b.CSV']) c.add(key);
    const listed = new Set(['a.csv', 'a.parquet', 'b.csv', 'b.CSV']);
    const stat = async (key: string) =>
      listed.has(key) ? { key, size: 1 } : undefined;
    expect((await c.confirmedProblem({ stat }))?.message).toBe(
      c.problem()?.message,
    );
    // As if 'b.CSV' had been rebuilt from a false hash hit: not refused for it.
    listed.delete('b.CSV');
    expect((await c.confirmedProblem({ stat }))?.message).toMatch(
      /^1 target key\(s\) .*\('a\.csv' and 'a\.parquet' → 'a\.parquet'\);/,
    );
    listed.delete('a.csv');
    await expect(c.confirmedProblem({ stat })).resolves.toBeUndefined();
  });

  it('reports the collision of a key it could not remember, unnamed', () => {
    const c = new TargetKeyCollisions('csv', 'parquet', () => 'all.parquet');
    c.add(`${'x'.repeat(40)}.csv`);
    c.add(`${'y'.repeat(40)}.csv`);
    expect(c.problem()?.message).toContain(
      `('${'y'.repeat(40)}.csv' and another object → 'all.parquet')`,
    );
  });

  it('keeps 9-byte slots, not keys: 12–24 bytes a data key, no false collision', () => {
    const c = collisions('csv', 'parquet');
    const initial = c.tableBytes;
    for (let i = 0; i < 50_000; i++) c.add(`notes/${i}.txt`);
    expect(c.tableBytes).toBe(initial); // not data: not remembered
    const n = 300_000;
    for (let i = 0; i < n; i++) {
      c.add(syntheticKey(i, 'csv'));
      // A Parquet object next to every 1,000th: the one true collision each.
      if (i % 1_000 === 0) c.add(syntheticKey(i, 'parquet'));
    }
    expect(c.count).toBe(n / 1_000);
    expect(c.found[0]).toEqual({
      targetKey: syntheticKey(0, 'parquet'),
      sources: [syntheticKey(0, 'csv'), syntheticKey(0, 'parquet')],
    });
    expect(c.tableBytes).toBe(9 * 2 ** 19);
    expect(c.tableBytes / n).toBeGreaterThanOrEqual(12);
    expect(c.tableBytes / n).toBeLessThanOrEqual(24);
  });
});

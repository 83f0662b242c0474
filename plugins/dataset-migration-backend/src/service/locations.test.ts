import { ConfigReader } from '@backstage/config';
import {
  parseLocation,
  relateLocations,
} from '@internal/backstage-plugin-dataset-migration-common';
import { LocationComparator } from './locations';

/**
 * The one overlap decision: `relateLocations` (-common) compares locations
 * as written; `LocationComparator` resolves named local roots first. Each
 * row gives both answers for `a` against `b`.
 */
describe('location overlap', () => {
  const comparator = LocationComparator.fromConfig(
    new ConfigReader({
      datasetMigration: {
        storage: {
          local: { roots: [{ name: 'data', path: '/srv/data' }, '/srv/raw'] },
        },
      },
    }),
  );

  it.each([
    // [a, b, resolved, as written]
    ['s3://bkt/data', 's3://bkt/data', 'same', 'same'],
    ['s3://bkt/data/', 's3://bkt/data', 'same', 'same'],
    ['s3://bkt/data', 's3://bkt/data/x/y', 'contains', 'contains'],
    ['s3://bkt/data/x', 's3://bkt/data', 'inside', 'inside'],
    ['s3://bkt/data', 's3://bkt/data2', 'disjoint', 'disjoint'],
    ['s3://bkt/data2', 's3://bkt/data', 'disjoint', 'disjoint'],
    ['s3://bkt', 's3://bkt/data', 'contains', 'contains'],
    ['s3://bkt/data', 's3://bkt', 'inside', 'inside'],
    ['s3://bkt', 's3://bkt', 'same', 'same'],
    ['s3://bkt/data', 's3://ckt/data', 'disjoint', 'disjoint'],
    ['s3://bkt', 's3://ckt', 'disjoint', 'disjoint'],
    ['s3://bkt/data', 'gs://bkt/data', 'disjoint', 'disjoint'],
    ['gs://bkt/data', 'gs://bkt/data/x', 'contains', 'contains'],
    ['file:///srv/raw/a', 'file:///srv/raw/a/b', 'contains', 'contains'],
    ['file:///srv/raw/a', 'file:///srv/raw/ab', 'disjoint', 'disjoint'],
    ['file://data', 'file://data/plays', 'contains', 'contains'],
    ['file://data/plays', 'file://data/plays2', 'disjoint', 'disjoint'],
    // A named root and the absolute path of the same folder.
    ['file://data/plays', 'file:///srv/data/plays', 'same', 'disjoint'],
    ['file://data', 'file:///srv/data', 'same', 'disjoint'],
    ['file://data/plays', 'file:///srv/data', 'inside', 'disjoint'],
    ['file:///srv/data/plays/x', 'file://data/plays', 'inside', 'disjoint'],
    ['file://data', 'file:///srv/data/plays', 'contains', 'disjoint'],
    ['file://data/plays', 'file:///srv/data2/plays', 'disjoint', 'disjoint'],
    ['file://data/plays', 'file:///srv/dataplays', 'disjoint', 'disjoint'],
    // An unknown root name is left as written.
    ['file://other/plays', 'file:///srv/data/plays', 'disjoint', 'disjoint'],
    ['file://data/plays', 's3://data/plays', 'disjoint', 'disjoint'],
  ])('%s vs %s: %s (as written: %s)', (a, b, resolved, asWritten) => {
    expect(comparator.relate(a, b)).toBe(resolved);
    expect(relateLocations(parseLocation(a), parseLocation(b))).toBe(asWritten);
  });

  describe('assertDisjoint', () => {
    it('names an equal target, also through its absolute path', () => {
      expect(() =>
        comparator.assertDisjoint(
          'file://data/plays',
          'file:///srv/data/plays',
        ),
      ).toThrow(
        "target.location 'file:///srv/data/plays' is the dataset's current location; choose a different target",
      );
    });

    it.each([
      ['file://data/plays', 'file://data/plays/copy'],
      ['file://data/plays', 'file://data'],
      ['s3://bkt/data', 's3://bkt'],
    ])('refuses %s → %s as overlapping', (source, target) => {
      expect(() => comparator.assertDisjoint(source, target)).toThrow(
        `target.location '${target}' overlaps the dataset's current location '${source}'; source and target must not contain one another`,
      );
    });

    it.each([
      ['s3://bkt/data', 's3://bkt/data2'],
      ['s3://bkt/data', 's3://ckt/data'],
      ['file://data/plays', 'file:///srv/raw/plays'],
    ])('accepts %s → %s', (source, target) => {
      expect(() => comparator.assertDisjoint(source, target)).not.toThrow();
    });
  });
});

import type { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import {
  type DatasetLocation,
  parseLocation,
  relateLocations,
} from '@internal/backstage-plugin-dataset-migration-common';
import { posix } from 'node:path';
import { readLocalRoots } from '../storage/local/LocalStorageBackend';

/**
 * Compares dataset locations. `file://<root>/x` and `file:///<root path>/x`
 * name the same folder, so named local roots are resolved to absolute paths
 * (from `datasetMigration.storage.local.roots`) before comparing. The
 * decision itself is `relateLocations` (-common), shared with the storage
 * registry's backup-area checks.
 */
export class LocationComparator {
  static fromConfig(config: Config): LocationComparator {
    const roots = new Map<string, string>();
    for (const root of readLocalRoots(config)) {
      if (root.name) roots.set(root.name, root.dir);
    }
    return new LocationComparator(roots);
  }

  constructor(private readonly namedRoots: Map<string, string>) {}

  /**
   * How `a` relates to `b` once named local roots are resolved; URIs are
   * parsed first (an invalid one throws `InvalidLocationError`).
   */
  relate(
    a: string | DatasetLocation,
    b: string | DatasetLocation,
  ): ReturnType<typeof relateLocations> {
    return relateLocations(this.canonical(a), this.canonical(b));
  }

  /**
   * Refuses a target that is the source or nests inside it (or the other way
   * round): copying into yourself reads what it writes, and a rollback would
   * delete source objects.
   */
  assertDisjoint(source: string, target: string): void {
    const relation = this.relate(source, target);
    if (relation === 'same') {
      throw new InputError(
        `target.location '${target}' is the dataset's current location; choose a different target`,
      );
    }
    if (relation !== 'disjoint') {
      throw new InputError(
        `target.location '${target}' overlaps the dataset's current location '${source}'; source and target must not contain one another`,
      );
    }
  }

  private canonical(value: string | DatasetLocation): DatasetLocation {
    const location = typeof value === 'string' ? parseLocation(value) : value;
    if (location.scheme !== 'file' || location.bucket === '') {
      return location;
    }
    const root = this.namedRoots.get(location.bucket);
    if (!root) {
      return location;
    }
    const path = location.path ? posix.join(root, location.path) : root;
    return { ...location, bucket: '', path };
  }
}

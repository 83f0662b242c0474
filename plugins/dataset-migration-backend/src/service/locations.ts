import type { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import {
  type DatasetLocation,
  parseLocation,
} from '@internal/backstage-plugin-dataset-migration-common';
import { posix } from 'node:path';
import { readLocalRoots } from '../storage/local/LocalStorageBackend';

/**
 * Compares dataset locations. `file://<root>/x` and `file:///<root path>/x`
 * name the same folder, so named local roots are resolved to absolute paths
 * (from `datasetMigration.storage.local.roots`) before comparing.
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
   * Refuses a target that is the source or nests inside it (or the other way
   * round): copying into yourself reads what it writes, and a rollback would
   * delete source objects.
   */
  assertDisjoint(source: string, target: string): void {
    const s = this.canonical(parseLocation(source));
    const t = this.canonical(parseLocation(target));
    if (s.scheme !== t.scheme || s.bucket !== t.bucket) {
      return;
    }
    if (s.path === t.path) {
      throw new InputError(
        `target.location '${target}' is the dataset's current location; choose a different target`,
      );
    }
    if (contains(s, t) || contains(t, s)) {
      throw new InputError(
        `target.location '${target}' overlaps the dataset's current location '${source}'; source and target must not contain one another`,
      );
    }
  }

  private canonical(location: DatasetLocation): DatasetLocation {
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

function contains(outer: DatasetLocation, inner: DatasetLocation): boolean {
  if (outer.path === '' || outer.path === '/') {
    return true;
  }
  return inner.path.startsWith(`${outer.path}/`);
}

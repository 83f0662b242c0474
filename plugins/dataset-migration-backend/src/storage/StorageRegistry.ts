import { InputError } from '@backstage/errors';
import {
  InvalidLocationError,
  locationsOverlap,
  parseLocation,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { DatasetLocation } from '@internal/backstage-plugin-dataset-migration-common';
import type {
  ObjectStore,
  StorageBackend,
} from '@internal/backstage-plugin-dataset-migration-node';
import { assertNotBackupArea, defaultBucketBackupUri } from './backupArea';

/** Maps URI schemes to the storage backend that serves them. */
export class StorageRegistry {
  private readonly byScheme = new Map<string, StorageBackend>();

  constructor(
    backends: StorageBackend[],
    /** Configured backup areas by scheme (`datasetMigration.backups.locations`). */
    private readonly backupAreas = new Map<string, DatasetLocation>(),
  ) {
    for (const backend of backends) {
      for (const scheme of backend.schemes) {
        if (this.byScheme.has(scheme)) {
          throw new Error(
            `Storage backends '${this.byScheme.get(scheme)!.id}' and '${
              backend.id
            }' both serve ${scheme}://`,
          );
        }
        this.byScheme.set(scheme, backend);
      }
    }
  }

  /**
   * Parses and opens a dataset location named by a user or the catalog;
   * InputError when nothing can open it or it lies in a backup area.
   */
  async open(uri: string): Promise<ObjectStore> {
    const location = this.parse(uri);
    assertNotBackupArea(location, this.backupAreas);
    return this.backend(location).open(location);
  }

  /**
   * Opens the store for the originals migration `migrationId` overwrites in
   * `targetUri`: the configured area of the target's scheme, else the
   * backend's own, else the bucket's reserved folder. Refused (InputError)
   * when that area and the target overlap.
   */
  async openBackupArea(
    targetUri: string,
    migrationId: string,
  ): Promise<ObjectStore> {
    const target = this.parse(targetUri);
    const backend = this.backend(target);
    const configured = this.backupAreas.get(target.scheme);
    let store: ObjectStore;
    if (configured) {
      if (locationsOverlap(configured, target)) {
        throw new InputError(
          `Target ${target.uri} overlaps the backup area ${configured.uri}; choose a target outside it`,
        );
      }
      const base = configured.uri.replace(/\/+$/, '');
      store = await backend.open(this.parse(`${base}/${migrationId}`));
    } else if (backend.openBackupArea) {
      store = await backend.openBackupArea(target, migrationId);
    } else if (target.bucket) {
      store = await backend.open(
        this.parse(defaultBucketBackupUri(target, migrationId)),
      );
    } else {
      throw new InputError(
        `The ${backend.id} storage backend has no backup area for ${target.uri}; set datasetMigration.backups.locations.${target.scheme}`,
      );
    }
    if (locationsOverlap(store.location, target)) {
      throw new InputError(
        `The backup area ${store.location.uri} would overlap the target ${target.uri}`,
      );
    }
    return store;
  }

  private parse(uri: string): DatasetLocation {
    try {
      return parseLocation(uri);
    } catch (e) {
      if (e instanceof InvalidLocationError) throw new InputError(e.message);
      throw e;
    }
  }

  private backend(location: DatasetLocation): StorageBackend {
    const backend = this.byScheme.get(location.scheme);
    if (!backend) {
      const known = [...this.byScheme.keys()].map(s => `${s}://`).join(', ');
      throw new InputError(
        `No storage backend is installed for ${
          location.scheme
        }:// locations (installed: ${known || 'none'})`,
      );
    }
    return backend;
  }
}

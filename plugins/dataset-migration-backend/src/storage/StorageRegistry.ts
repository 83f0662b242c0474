import { InputError } from '@backstage/errors';
import {
  InvalidLocationError,
  parseLocation,
} from '@internal/backstage-plugin-dataset-migration-common';
import type {
  ObjectStore,
  StorageBackend,
} from '@internal/backstage-plugin-dataset-migration-node';

/** Maps URI schemes to the storage backend that serves them. */
export class StorageRegistry {
  private readonly byScheme = new Map<string, StorageBackend>();

  constructor(backends: StorageBackend[]) {
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

  /** Parses and opens a location; InputError when nothing can open it. */
  async open(uri: string): Promise<ObjectStore> {
    let location;
    try {
      location = parseLocation(uri);
    } catch (e) {
      if (e instanceof InvalidLocationError) throw new InputError(e.message);
      throw e;
    }
    const backend = this.byScheme.get(location.scheme);
    if (!backend) {
      const known = [...this.byScheme.keys()].map(s => `${s}://`).join(', ');
      throw new InputError(
        `No storage backend is installed for ${
          location.scheme
        }:// locations (installed: ${known || 'none'})`,
      );
    }
    return backend.open(location);
  }
}

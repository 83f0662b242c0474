import { NotFoundError } from '@backstage/errors';
import type { DatasetLocation } from '@internal/backstage-plugin-dataset-migration-common';
import {
  datasetMigrationStorageExtensionPoint,
  type ObjectStore,
  type StorageBackend,
} from '@internal/backstage-plugin-dataset-migration-node';
import { createBackendModule } from '@backstage/backend-plugin-api';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * An in-memory `s3://` backend, added through the plugin's extension point
 * exactly as a real module would. `holdReads()` parks every `read` until
 * `release()`, which keeps a migration in `running` for as long as a test
 * needs.
 */
export class MemoryStorage implements StorageBackend {
  readonly id = 'memory';
  readonly schemes = ['s3'] as const;
  readonly objects = new Map<string, Buffer>();
  private gate?: { promise: Promise<void>; open(): void };
  readsStarted = 0;

  holdReads() {
    let open!: () => void;
    const promise = new Promise<void>(resolve => {
      open = resolve;
    });
    this.gate = { promise, open };
  }

  release() {
    this.gate?.open();
    this.gate = undefined;
  }

  put(uri: string, content: string) {
    this.objects.set(uri, Buffer.from(content));
  }

  async open(location: DatasetLocation): Promise<ObjectStore> {
    const base = location.uri;
    const full = (key: string) => `${base}/${key}`;
    const info = (key: string, data: Buffer) => ({
      key,
      size: data.length,
      etag: createHash('md5').update(data).digest('hex'),
    });
    const storage = this;
    return {
      location,
      backendId: this.id,
      capabilities: { checksums: [], serverSideCopy: false, multipart: false },
      async *list() {
        for (const [uri, data] of [...storage.objects]) {
          if (uri.startsWith(`${base}/`)) {
            yield info(uri.slice(base.length + 1), data);
          }
        }
      },
      async stat(key) {
        const data = storage.objects.get(full(key));
        return data ? info(key, data) : undefined;
      },
      async read(key, range) {
        storage.readsStarted += 1;
        await storage.gate?.promise;
        const data = storage.objects.get(full(key));
        if (!data) {
          throw new NotFoundError(`No object ${full(key)}`);
        }
        return Readable.from([
          range ? data.subarray(range.start, range.end + 1) : data,
        ]);
      },
      async write(key, body) {
        const chunks: Buffer[] = [];
        for await (const chunk of body) {
          chunks.push(Buffer.from(chunk));
        }
        const data = Buffer.concat(chunks);
        storage.objects.set(full(key), data);
        return {
          size: data.length,
          checksums: {
            sha256: createHash('sha256').update(data).digest('hex'),
          },
        };
      },
      async delete(key) {
        storage.objects.delete(full(key));
      },
    };
  }

  /** A backend module that registers this store with the plugin. */
  module() {
    const storage = this;
    return createBackendModule({
      pluginId: 'dataset-migration',
      moduleId: 'test-memory-storage',
      register(reg) {
        reg.registerInit({
          deps: { storage: datasetMigrationStorageExtensionPoint },
          async init(deps) {
            deps.storage.addStorageBackend(storage);
          },
        });
      },
    });
  }
}

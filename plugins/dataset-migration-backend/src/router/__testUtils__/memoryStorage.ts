import { NotFoundError } from '@backstage/errors';
import type { DatasetLocation } from '@internal/backstage-plugin-dataset-migration-common';
import {
  datasetMigrationStorageExtensionPoint,
  type DatasetMigrationStorageExtensionPoint,
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
    return {
      location,
      backendId: this.id,
      capabilities: { checksums: [], serverSideCopy: false, multipart: false },
      list: () => this.listUnder(base),
      stat: async key => {
        const data = this.objects.get(full(key));
        return data ? describe(key, data) : undefined;
      },
      read: async (key, range) => {
        this.readsStarted += 1;
        await this.gate?.promise;
        const data = this.objects.get(full(key));
        if (!data) {
          throw new NotFoundError(`No object ${full(key)}`);
        }
        return Readable.from([
          range ? data.subarray(range.start, range.end + 1) : data,
        ]);
      },
      write: async (key, body) => {
        const chunks: Buffer[] = [];
        for await (const chunk of body) {
          chunks.push(Buffer.from(chunk));
        }
        const data = Buffer.concat(chunks);
        this.objects.set(full(key), data);
        return {
          size: data.length,
          checksums: {
            sha256: createHash('sha256').update(data).digest('hex'),
          },
        };
      },
      delete: async key => {
        this.objects.delete(full(key));
      },
    };
  }

  private async *listUnder(base: string) {
    for (const [uri, data] of [...this.objects]) {
      if (uri.startsWith(`${base}/`)) {
        yield describe(uri.slice(base.length + 1), data);
      }
    }
  }

  /** A backend module that registers this store with the plugin. */
  module() {
    const addTo = (ext: DatasetMigrationStorageExtensionPoint) =>
      ext.addStorageBackend(this);
    return createBackendModule({
      pluginId: 'dataset-migration',
      moduleId: 'test-memory-storage',
      register(reg) {
        reg.registerInit({
          deps: { storage: datasetMigrationStorageExtensionPoint },
          async init(deps) {
            addTo(deps.storage);
          },
        });
      },
    });
  }
}

function describe(key: string, data: Buffer) {
  return {
    key,
    size: data.length,
    etag: createHash('md5').update(data).digest('hex'),
  };
}

import { createHash } from 'node:crypto';
import {
  crc32c,
  type ObjectInfo,
  ObjectStore,
  type StorageBackend,
} from '@internal/backstage-plugin-dataset-migration-node';

/** Wraps a backend to observe and disturb writes to object stores. */
export class WrappingBackend implements StorageBackend {
  readonly schemes: readonly string[];
  readonly id: string;
  /** Completed or attempted writes per `uri|key`. */
  readonly writes = new Map<string, number>();
  /** Attempted part writes per `uri|key|part`. */
  readonly partWrites = new Map<string, number>();
  readonly intervals: Array<{
    key: string;
    start: number;
    end: number;
    tag: string;
  }> = [];
  active = new Set<string>();

  constructor(
    private readonly inner: StorageBackend,
    private readonly options: {
      tag?: string;
      noServerSideCopy?: boolean;
      writeDelayMs?: number;
      /** Called as each write starts; a returned promise holds the write. */
      onWrite?: (key: string) => void | Promise<unknown>;
      /** Throw this (or nothing) before the n-th (1-based) write of a key. */
      failWrite?: (key: string, attempt: number) => Error | undefined;
      /**
       * Keys whose md5 `list` and `stat` report (hashed from the file), as
       * a store that keeps checksums would.
       */
      md5For?: (key: string) => boolean;
      /** With `md5For`: only `stat` reports md5s, `list` does not (as S3 lists no CRC32C). */
      md5OnStatOnly?: boolean;
      /**
       * The store keeps CRC32Cs (as S3 and GCS do): `stat` reports each
       * object's, unless `hidden` (the capability claimed, no value given).
       */
      crc32c?: { hidden?: boolean };
      /** Hide the store's parted writes (large objects in one stream). */
      noParts?: boolean;
      /** Called as each read starts; a returned promise holds it, a thrown error fails it. */
      onRead?: (
        key: string,
        range: { start: number; end?: number } | undefined,
      ) => void | Promise<unknown>;
      /**
       * Called as each part write starts (1-based attempt per part); a
       * returned promise holds it, a thrown error fails it.
       */
      onPart?: (
        key: string,
        part: number,
        attempt: number,
      ) => void | Promise<unknown>;
    } = {},
  ) {
    this.id = inner.id;
    this.schemes = inner.schemes;
  }

  async open(location: any): Promise<ObjectStore> {
    return this.wrap(await this.inner.open(location));
  }

  async openBackupArea(target: any, migrationId: string) {
    return this.wrap(await this.inner.openBackupArea!(target, migrationId));
  }

  private wrap(store: ObjectStore): ObjectStore {
    const writes = this.writes;
    const active = this.active;
    const intervals = this.intervals;
    const opts = this.options;
    const track = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
      const id = `${store.location.uri}|${key}`;
      const attempt = (writes.get(id) ?? 0) + 1;
      writes.set(id, attempt);
      await opts.onWrite?.(key);
      const error = opts.failWrite?.(key, attempt);
      if (error) throw error;
      const start = performance.now();
      active.add(id);
      try {
        if (opts.writeDelayMs) {
          await new Promise(r => setTimeout(r, opts.writeDelayMs));
        }
        return await fn();
      } finally {
        active.delete(id);
        intervals.push({
          key: id,
          start,
          end: performance.now(),
          tag: opts.tag ?? '',
        });
      }
    };
    const withCrc = async <T extends ObjectInfo | undefined>(info: T) => {
      if (!info || !opts.crc32c || opts.crc32c.hidden) return info;
      let crc = 0;
      for await (const chunk of await store.read(info.key)) {
        crc = crc32c(chunk, crc);
      }
      return {
        ...info,
        checksums: {
          ...info.checksums,
          crc32c: crc.toString(16).padStart(8, '0'),
        },
      };
    };
    const withMd5 = async <T extends ObjectInfo | undefined>(info: T) => {
      if (!info || !opts.md5For?.(info.key)) return info;
      const hash = createHash('md5');
      for await (const chunk of await store.read(info.key)) hash.update(chunk);
      return {
        ...info,
        checksums: { ...info.checksums, md5: hash.digest('hex') },
      };
    };
    const wrapped: ObjectStore & { inner: ObjectStore } = {
      inner: store,
      location: store.location,
      backendId: store.backendId,
      capabilities: {
        ...store.capabilities,
        checksums: [
          ...(opts.md5For ? (['md5'] as const) : []),
          ...(opts.crc32c ? (['crc32c'] as const) : []),
          ...(opts.md5For || opts.crc32c ? [] : store.capabilities.checksums),
        ],
      },
      list:
        opts.md5For && !opts.md5OnStatOnly
          ? async function* listWithMd5(o) {
              for await (const info of store.list(o)) yield await withMd5(info);
            }
          : o => store.list(o),
      stat: async k => withCrc(await withMd5(await store.stat(k))),
      read: async (k, r) => {
        await opts.onRead?.(k, r);
        return store.read(k, r);
      },
      delete: k => store.delete(k),
      captureRootState: store.captureRootState?.bind(store),
      removeEmptyRoot: store.removeEmptyRoot?.bind(store),
      removeTemporaryFiles: store.removeTemporaryFiles?.bind(store),
      probe: store.probe?.bind(store),
      write: (k, body, hints) => track(k, () => store.write(k, body, hints)),
      parts:
        opts.noParts || !store.parts
          ? undefined
          : {
              partSizeMultiple: store.parts.partSizeMultiple,
              maxSize: store.parts.maxSize,
              begin: (k, h) => store.parts!.begin(k, h),
              writePart: async (k, id, part, body, h) => {
                const pid = `${store.location.uri}|${k}|${part.number}`;
                const attempt = (this.partWrites.get(pid) ?? 0) + 1;
                this.partWrites.set(pid, attempt);
                try {
                  await opts.onPart?.(k, part.number, attempt);
                } catch (e) {
                  body.destroy();
                  throw e;
                }
                return store.parts!.writePart(k, id, part, body, h);
              },
              complete: (k, id, list, h) =>
                track(k, () => store.parts!.complete(k, id, list, h)),
              abort: (k, id) => store.parts!.abort(k, id),
            },
      copyWithin:
        opts.noServerSideCopy || !store.copyWithin
          ? undefined
          : (source, sk, tk) =>
              track(tk, () =>
                store.copyWithin!((source as any).inner ?? source, sk, tk),
              ),
    };
    return wrapped;
  }

  /** Writes to one location only (backups live elsewhere). */
  writesUnder(uri: string): Map<string, number> {
    const result = new Map<string, number>();
    for (const [id, n] of this.writes) {
      const [u, key] = id.split('|');
      if (u === uri) result.set(key, n);
    }
    return result;
  }
}

import path from 'node:path';
import type { Config } from '@backstage/config';
import { InputError, NotAllowedError } from '@backstage/errors';
import type { DatasetLocation } from '@internal/backstage-plugin-dataset-migration-common';
import type {
  ObjectStore,
  StorageBackend,
} from '@internal/backstage-plugin-dataset-migration-node';
import { BACKUP_FOLDER } from '../backupArea';
import { LocalObjectStore } from './LocalObjectStore';
import { isInside, realpathLenient } from './paths';

interface LocalRoot {
  /** Set for roots configured as `{ name, path }`: usable as file://name/… */
  name?: string;
  dir: string;
}

/**
 * Reads `datasetMigration.storage.local.roots`: each entry is a path, usable
 * through `file:///absolute/path`, or `{ name, path }`, usable through
 * `file://name/relative/path` too (so catalog files need no absolute paths).
 * Relative paths resolve against the backend's working directory.
 */
export function readLocalRoots(config: Config): LocalRoot[] {
  const key = 'datasetMigration.storage.local.roots';
  const raw = config.getOptional(key) ?? [];
  if (!Array.isArray(raw)) {
    throw new TypeError(`${key} must be a list`);
  }
  return raw.map((entry, i) => {
    if (typeof entry === 'string') return { dir: path.resolve(entry) };
    const { name, path: dir } = (entry ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)) {
      throw new TypeError(
        `${key}[${i}].name must be lowercase letters, digits, '-' or '_'`,
      );
    }
    if (typeof dir !== 'string' || dir === '') {
      throw new TypeError(`${key}[${i}].path must be a folder path`);
    }
    return { name, dir: path.resolve(dir) };
  });
}

/**
 * Storage backend for `file://` locations. Only folders under the configured
 * `datasetMigration.storage.local.roots` can be opened.
 */
export function createLocalStorageBackend(config: Config): StorageBackend {
  const roots = readLocalRoots(config);
  const describe = () =>
    roots.map(r => (r.name ? `file://${r.name}` : 'file:///…')).join(', ');
  let realRoots: Promise<string[]> | undefined;

  /** Resolves a location to its real folder and the real root holding it. */
  async function resolve(location: DatasetLocation) {
    if (location.scheme !== 'file') {
      throw new InputError(`The local backend cannot open ${location.uri}`);
    }
    if (roots.length === 0) {
      throw new NotAllowedError(
        'Local dataset locations are disabled: configure datasetMigration.storage.local.roots',
      );
    }
    realRoots ??= Promise.all(roots.map(r => realpathLenient(r.dir)));
    const resolved = await realRoots;
    let requested: string;
    let candidates: number[];
    if (location.bucket) {
      const i = roots.findIndex(r => r.name === location.bucket);
      if (i < 0) {
        throw new InputError(
          `Unknown local root '${location.bucket}' in ${
            location.uri
          }; configured roots: ${describe()}`,
        );
      }
      requested = path.resolve(roots[i].dir, location.path || '.');
      candidates = [i];
    } else {
      requested = path.resolve(location.path);
      candidates = roots.map((_, i) => i);
    }
    const real = await realpathLenient(requested);
    const root = candidates.find(
      i => isInside(roots[i].dir, requested) && isInside(resolved[i], real),
    );
    if (root === undefined) {
      // Server paths stay out of the message: it goes back to API callers.
      throw new NotAllowedError(
        `Location ${
          location.uri
        } is outside the allowed local roots (${describe()})`,
      );
    }
    return { dir: real, rootDir: resolved[root] };
  }

  return {
    id: 'local',
    schemes: ['file'],
    async open(location: DatasetLocation): Promise<ObjectStore> {
      const { dir, rootDir } = await resolve(location);
      if (isInside(path.join(rootDir, BACKUP_FOLDER), dir)) {
        throw new InputError(
          `Location ${location.uri} is inside the engine's backup area ${BACKUP_FOLDER}, which no dataset may use`,
        );
      }
      return new LocalObjectStore(location, dir, rootDir);
    },

    /**
     * Backups of a target go to `<root>/.dataset-migration-backups/<id>` of
     * the root holding the target: beside every dataset of that root, inside
     * none (a target that is a whole root is refused), on the same disk.
     */
    async openBackupArea(
      target: DatasetLocation,
      migrationId: string,
    ): Promise<ObjectStore> {
      const { dir, rootDir } = await resolve(target);
      const area = path.join(rootDir, BACKUP_FOLDER);
      if (isInside(dir, area)) {
        throw new InputError(
          `Target ${target.uri} is a whole local root; its backup area would be inside it. Choose a folder under the root, or set datasetMigration.backups.locations.file to another root`,
        );
      }
      const uri = target.bucket
        ? `file://${target.bucket}/${BACKUP_FOLDER}/${migrationId}`
        : `file://${path.join(area, migrationId)}`;
      return new LocalObjectStore(
        {
          uri,
          scheme: 'file',
          bucket: target.bucket,
          path: target.bucket
            ? `${BACKUP_FOLDER}/${migrationId}`
            : path.join(area, migrationId),
        },
        path.join(area, migrationId),
        rootDir,
        area,
      );
    },
  };
}

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import type { StorageBackend } from '@internal/backstage-plugin-dataset-migration-node';
import { describeObjectStoreConformance } from '@internal/backstage-plugin-dataset-migration-node/testUtils';
import { createLocalStorageBackend } from './LocalStorageBackend';

/** Every file under `dir`, relative and `/`-separated, temp files included. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs
    .readdir(dir, { recursive: true, withFileTypes: true })
    .catch(e => (e?.code === 'ENOENT' ? [] : Promise.reject(e)));
  return entries
    .filter(entry => !entry.isDirectory())
    .map(entry =>
      path
        .relative(dir, path.join(entry.parentPath, entry.name))
        .split(path.sep)
        .join('/'),
    );
}

describe('LocalStorageBackend', () => {
  let root: string;
  let backend: StorageBackend;

  beforeAll(async () => {
    root = await fs.realpath(
      await fs.mkdtemp(path.join(os.tmpdir(), 'dm-local-conformance-')),
    );
    backend = createLocalStorageBackend(
      new ConfigReader({
        datasetMigration: { storage: { local: { roots: [root] } } },
      }),
    );
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  describeObjectStoreConformance(
    'local',
    () => ({
      open: prefix => backend.open(parseLocation(`file://${root}/${prefix}`)),
      // Listing has no pages; the suite still lists more than this many.
      listPageSize: 7,
      // Local writes never split; reads stream in chunks of at least 64 KiB.
      partSizeBytes: 64 * 1024,
      storedNames: prefix => filesUnder(path.join(root, ...prefix.split('/'))),
    }),
    {
      skip: {
        'list-after':
          'a local listing walks folders in directory order and takes no start key; validation stats local targets (full re-read anyway)',
      },
    },
  );
});

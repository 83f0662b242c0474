import { createExtensionPoint } from '@backstage/backend-plugin-api';
import type { StorageBackend } from './storage';

/**
 * Lets backend modules add storage backends to the dataset-migration plugin.
 *
 * @public
 */
export interface DatasetMigrationStorageExtensionPoint {
  addStorageBackend(backend: StorageBackend): void;
}

/** @public */
export const datasetMigrationStorageExtensionPoint =
  createExtensionPoint<DatasetMigrationStorageExtensionPoint>({
    id: 'dataset-migration.storage',
  });

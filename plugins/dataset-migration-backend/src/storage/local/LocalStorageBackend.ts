import type { Config } from '@backstage/config';
import type { StorageBackend } from '@internal/backstage-plugin-dataset-migration-node';

export function createLocalStorageBackend(_config: Config): StorageBackend {
  return {
    id: 'local',
    schemes: ['file'],
    open: async () => {
      throw new Error('not implemented');
    },
  };
}

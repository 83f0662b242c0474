import { createBackendPlugin } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import {
  datasetMigrationStorageExtensionPoint,
  StorageBackend,
} from '@internal/backstage-plugin-dataset-migration-node';
import { datasetMigrationModuleGcs } from './module';
import { GcsStorageBackend } from './GcsStorageBackend';

function recordingPlugin(backends: StorageBackend[]) {
  return createBackendPlugin({
    pluginId: 'dataset-migration',
    register(env) {
      env.registerExtensionPoint(datasetMigrationStorageExtensionPoint, {
        addStorageBackend: backend => backends.push(backend),
      });
      env.registerInit({ deps: {}, async init() {} });
    },
  });
}

describe('datasetMigrationModuleGcs', () => {
  it('registers a gs backend with the GCS ramp defaults', async () => {
    const backends: StorageBackend[] = [];
    const backend = await startTestBackend({
      features: [
        recordingPlugin(backends),
        datasetMigrationModuleGcs,
        mockServices.rootConfig.factory({
          data: {
            datasetMigration: {
              storage: {
                gcs: { apiEndpoint: 'http://127.0.0.1:4443', projectId: 'p' },
              },
            },
          },
        }),
      ],
    });
    expect(backends.map(b => [b.id, b.schemes])).toEqual([['gcs', ['gs']]]);
    expect((backends[0] as GcsStorageBackend).options).toMatchObject({
      apiEndpoint: 'http://127.0.0.1:4443',
      projectId: 'p',
      initialWritesPerSecond: 1000,
      rampDoublingMinutes: 20,
      resumableChunkBytes: 16 * 1024 * 1024,
    });
    await backend.stop();
  });

  it('refuses a chunk size GCS would reject', async () => {
    await expect(
      startTestBackend({
        features: [
          recordingPlugin([]),
          datasetMigrationModuleGcs,
          mockServices.rootConfig.factory({
            data: {
              datasetMigration: {
                storage: { gcs: { resumableChunkMiB: 1.1 } },
              },
            },
          }),
        ],
      }),
    ).rejects.toThrow(/resumableChunkMiB must be a multiple of 0.25/);
  });
});

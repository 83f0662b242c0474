import { createBackendPlugin } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import {
  datasetMigrationStorageExtensionPoint,
  StorageBackend,
} from '@internal/backstage-plugin-dataset-migration-node';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
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

  it('without a gcs block, knows gs:// but refuses it at once', async () => {
    const backends: StorageBackend[] = [];
    const backend = await startTestBackend({
      features: [recordingPlugin(backends), datasetMigrationModuleGcs],
    });
    expect(backends.map(b => [b.id, b.schemes])).toEqual([['gcs', ['gs']]]);
    expect(backends[0]).not.toBeInstanceOf(GcsStorageBackend);
    const started = Date.now();
    await expect(
      backends[0].open(parseLocation('gs://landing-zone/plays')),
    ).rejects.toMatchObject({
      name: 'InputError',
      message:
        'gs:// locations are not configured on this Backstage backend: set datasetMigration.storage.gcs (see the module README)',
    });
    expect(Date.now() - started).toBeLessThan(100);
    await backend.stop();
  });

  it('uses Application Default Credentials for an empty gcs block', async () => {
    const backends: StorageBackend[] = [];
    const backend = await startTestBackend({
      features: [
        recordingPlugin(backends),
        datasetMigrationModuleGcs,
        mockServices.rootConfig.factory({
          data: { datasetMigration: { storage: { gcs: {} } } },
        }),
      ],
    });
    expect(backends[0]).toBeInstanceOf(GcsStorageBackend);
    expect((backends[0] as GcsStorageBackend).options).toMatchObject({
      apiEndpoint: undefined,
      credentials: undefined,
      keyFilename: undefined,
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

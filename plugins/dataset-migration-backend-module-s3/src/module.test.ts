import { createBackendPlugin } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import {
  datasetMigrationStorageExtensionPoint,
  StorageBackend,
} from '@internal/backstage-plugin-dataset-migration-node';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { datasetMigrationModuleS3 } from './module';
import { S3StorageBackend } from './S3StorageBackend';

/** Stands in for the plugin: records what modules register. */
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

describe('datasetMigrationModuleS3', () => {
  it('registers an s3 backend configured from app-config', async () => {
    const backends: StorageBackend[] = [];
    const backend = await startTestBackend({
      features: [
        recordingPlugin(backends),
        datasetMigrationModuleS3,
        mockServices.rootConfig.factory({
          data: {
            datasetMigration: {
              storage: {
                s3: {
                  endpoint: 'http://127.0.0.1:9000',
                  region: 'eu-north-1',
                  forcePathStyle: true,
                  credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
                  partSizeMiB: 32,
                  uploadConcurrency: 8,
                  maxWritesPerSecond: 100,
                },
              },
            },
          },
        }),
      ],
    });
    expect(backends.map(b => [b.id, b.schemes])).toEqual([['s3', ['s3']]]);
    expect((backends[0] as S3StorageBackend).options).toMatchObject({
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-north-1',
      forcePathStyle: true,
      partSizeBytes: 32 * 1024 * 1024,
      uploadConcurrency: 8,
      maxWritesPerSecond: 100,
      checksumAlgorithm: 'CRC32C',
    });
    await backend.stop();
  });

  it('uses the default credential chain for an empty s3 block', async () => {
    const backends: StorageBackend[] = [];
    const backend = await startTestBackend({
      features: [
        recordingPlugin(backends),
        datasetMigrationModuleS3,
        mockServices.rootConfig.factory({
          data: { datasetMigration: { storage: { s3: {} } } },
        }),
      ],
    });
    expect(backends[0]).toBeInstanceOf(S3StorageBackend);
    expect(
      (backends[0] as S3StorageBackend).options.credentials,
    ).toBeUndefined();
    await backend.stop();
  });

  it('without an s3 block, knows s3:// but refuses it at once', async () => {
    const backends: StorageBackend[] = [];
    const backend = await startTestBackend({
      features: [recordingPlugin(backends), datasetMigrationModuleS3],
    });
    expect(backends.map(b => [b.id, b.schemes])).toEqual([['s3', ['s3']]]);
    expect(backends[0]).not.toBeInstanceOf(S3StorageBackend);
    const started = Date.now();
    await expect(
      backends[0].open(parseLocation('s3://warehouse/plays')),
    ).rejects.toMatchObject({
      name: 'InputError',
      message:
        's3:// locations are not configured on this Backstage backend: set datasetMigration.storage.s3 (see the module README)',
    });
    expect(Date.now() - started).toBeLessThan(100);
    await backend.stop();
  });

  it('refuses a part size S3 would reject, saying which key', async () => {
    await expect(
      startTestBackend({
        features: [
          recordingPlugin([]),
          datasetMigrationModuleS3,
          mockServices.rootConfig.factory({
            data: { datasetMigration: { storage: { s3: { partSizeMiB: 4 } } } },
          }),
        ],
      }),
    ).rejects.toThrow(
      /datasetMigration.storage.s3.partSizeMiB must be at least 5/,
    );
  });
});

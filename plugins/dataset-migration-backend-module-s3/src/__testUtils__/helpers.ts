import { ConfigReader } from '@backstage/config';
import type { S3StorageBackend } from '../S3StorageBackend';

/** `datasetMigration.storage.s3` for a local s3rver. */
export function s3rverStorage(endpoint: string, extra: object = {}) {
  return {
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    ...extra,
  };
}

/** Config for an S3 backend pointing at a local s3rver. */
export function s3Config(endpoint: string, extra: object = {}) {
  return new ConfigReader({
    datasetMigration: { storage: { s3: s3rverStorage(endpoint, extra) } },
  });
}

/** Counts UploadPart requests the client sends. */
export function countParts(backend: S3StorageBackend) {
  const counter = { parts: 0 };
  backend.client.middlewareStack.add(
    (next, context) => async args => {
      if (context.commandName === 'UploadPartCommand') {
        counter.parts++;
      }
      return next(args);
    },
    { step: 'initialize', name: 'countParts' },
  );
  return counter;
}

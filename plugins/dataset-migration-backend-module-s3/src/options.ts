import type { Config } from '@backstage/config';

/** Resolved `datasetMigration.storage.s3` settings. */
export interface S3BackendOptions {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  credentials?: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
  };
  partSizeBytes: number;
  uploadConcurrency: number;
  /** Memory for multipart part buffers, shared by all uploads of the backend. */
  uploadBufferBytes: number;
  maxAttempts: number;
  maxWritesPerSecond: number;
  initialWritesPerSecond?: number;
  rampDoublingMinutes: number;
  maxReadsPerSecond: number;
  listPageSize: number;
  checksumAlgorithm: 'CRC32C' | 'SHA256' | 'none';
  etagIsMd5: boolean;
  multipartCopyThresholdBytes: number;
  /** Small-object requests signed and sent without the SDK's middleware. */
  fastRequests: boolean;
}

const MiB = 1024 * 1024;

function positive(config: Config | undefined, key: string, fallback: number) {
  const value = config?.getOptionalNumber(key) ?? fallback;
  if (!(value > 0)) {
    throw new Error(
      `datasetMigration.storage.s3.${key} must be a positive number, got ${value}`,
    );
  }
  return value;
}

/** Where the S3 settings live; the backend serves s3:// only when present. */
export const S3_CONFIG_KEY = 'datasetMigration.storage.s3';

/**
 * Whether this Backstage backend is meant to reach S3: the
 * `datasetMigration.storage.s3` block is present (`s3: {}` is enough to use
 * the AWS default credential chain). Without it, s3:// locations are
 * refused at once instead of trying the default chain and public endpoint.
 */
export function isS3Configured(rootConfig: Config): boolean {
  return rootConfig.has(S3_CONFIG_KEY);
}

/** Reads `datasetMigration.storage.s3`; every key is optional. */
export function readS3Options(rootConfig: Config): S3BackendOptions {
  const config = rootConfig.getOptionalConfig('datasetMigration.storage.s3');
  const credentials = config?.getOptionalConfig('credentials');
  const partSizeMiB = positive(config, 'partSizeMiB', 16);
  if (partSizeMiB < 5) {
    throw new Error(
      'datasetMigration.storage.s3.partSizeMiB must be at least 5 (the S3 minimum part size)',
    );
  }
  // Default: 256 MiB, or one part when parts are larger.
  const uploadBufferMiB = positive(
    config,
    'uploadBufferMiB',
    Math.max(256, partSizeMiB),
  );
  if (uploadBufferMiB < partSizeMiB) {
    throw new Error(
      `datasetMigration.storage.s3.uploadBufferMiB must be at least partSizeMiB (${partSizeMiB}), so that an upload can buffer one part; got ${uploadBufferMiB}`,
    );
  }
  const listPageSize = positive(config, 'listPageSize', 1000);
  const checksumAlgorithm =
    config?.getOptionalString('checksumAlgorithm') ?? 'CRC32C';
  if (!['CRC32C', 'SHA256', 'none'].includes(checksumAlgorithm)) {
    throw new Error(
      `datasetMigration.storage.s3.checksumAlgorithm must be CRC32C, SHA256 or none, got '${checksumAlgorithm}'`,
    );
  }
  return {
    endpoint: config?.getOptionalString('endpoint'),
    region:
      config?.getOptionalString('region') ??
      process.env.AWS_REGION ??
      process.env.AWS_DEFAULT_REGION ??
      'us-east-1',
    forcePathStyle: config?.getOptionalBoolean('forcePathStyle') ?? false,
    credentials: credentials
      ? {
          accessKeyId: credentials.getString('accessKeyId'),
          secretAccessKey: credentials.getString('secretAccessKey'),
          sessionToken: credentials.getOptionalString('sessionToken'),
        }
      : undefined,
    partSizeBytes: Math.round(partSizeMiB * MiB),
    uploadConcurrency: Math.floor(positive(config, 'uploadConcurrency', 4)),
    uploadBufferBytes: Math.round(uploadBufferMiB * MiB),
    maxAttempts: Math.floor(positive(config, 'maxAttempts', 5)),
    maxWritesPerSecond: positive(config, 'maxWritesPerSecond', 3500),
    initialWritesPerSecond: config?.getOptionalNumber('initialWritesPerSecond'),
    rampDoublingMinutes: config?.getOptionalNumber('rampDoublingMinutes') ?? 0,
    maxReadsPerSecond: positive(config, 'maxReadsPerSecond', 5500),
    listPageSize: Math.min(1000, Math.floor(listPageSize)),
    checksumAlgorithm:
      checksumAlgorithm as S3BackendOptions['checksumAlgorithm'],
    etagIsMd5: config?.getOptionalBoolean('etagIsMd5') ?? true,
    fastRequests: config?.getOptionalBoolean('fastRequests') ?? true,
    multipartCopyThresholdBytes: Math.round(
      positive(config, 'multipartCopyThresholdMiB', 5120) * MiB,
    ),
  };
}

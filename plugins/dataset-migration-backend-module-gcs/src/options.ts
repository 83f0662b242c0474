import type { Config } from '@backstage/config';

/** Resolved `datasetMigration.storage.gcs` settings. */
export interface GcsBackendOptions {
  projectId?: string;
  apiEndpoint?: string;
  keyFilename?: string;
  credentials?: { client_email: string; private_key: string };
  resumableThresholdBytes: number;
  resumableChunkBytes: number;
  /** Bytes per request of a streamed upload (nothing kept in memory). */
  streamedRequestBytes: number;
  /** Chunks of resumable uploads sent straight to the session URI (`chunkedUpload.ts`). */
  fastUploads: boolean;
  /** Listings and reads of one object sent with Node's HTTP client (`fastReads.ts`). */
  fastReads: boolean;
  maxRetries: number;
  maxWritesPerSecond: number;
  initialWritesPerSecond: number;
  rampDoublingMinutes: number;
  maxReadsPerSecond: number;
  listPageSize: number;
}

const MiB = 1024 * 1024;
const QUANTUM = 256 * 1024;

function positive(config: Config | undefined, key: string, fallback: number) {
  const value = config?.getOptionalNumber(key) ?? fallback;
  if (!(value > 0)) {
    throw new Error(
      `datasetMigration.storage.gcs.${key} must be a positive number, got ${value}`,
    );
  }
  return value;
}

/** Where the GCS settings live; the backend serves gs:// only when present. */
export const GCS_CONFIG_KEY = 'datasetMigration.storage.gcs';

/**
 * Whether this Backstage backend is meant to reach GCS: the
 * `datasetMigration.storage.gcs` block is present (`gcs: {}` is enough to
 * use Application Default Credentials). Without it, gs:// locations are
 * refused at once instead of looking for credentials and trying Google's
 * public endpoint.
 */
export function isGcsConfigured(rootConfig: Config): boolean {
  return rootConfig.has(GCS_CONFIG_KEY);
}

/** Reads `datasetMigration.storage.gcs`; every key is optional. */
export function readGcsOptions(rootConfig: Config): GcsBackendOptions {
  const config = rootConfig.getOptionalConfig('datasetMigration.storage.gcs');
  const credentials = config?.getOptionalConfig('credentials');
  const chunk = positive(config, 'resumableChunkMiB', 16) * MiB;
  if (chunk % QUANTUM !== 0) {
    throw new Error(
      'datasetMigration.storage.gcs.resumableChunkMiB must be a multiple of 0.25 (GCS takes chunks in 256 KiB units)',
    );
  }
  const streamed = positive(config, 'streamedRequestMiB', 256) * MiB;
  if (streamed % QUANTUM !== 0) {
    throw new Error(
      'datasetMigration.storage.gcs.streamedRequestMiB must be a multiple of 0.25 (GCS takes chunks in 256 KiB units)',
    );
  }
  const maxWrites = positive(config, 'maxWritesPerSecond', 5000);
  return {
    projectId: config?.getOptionalString('projectId'),
    apiEndpoint: config?.getOptionalString('apiEndpoint'),
    keyFilename: config?.getOptionalString('keyFilename'),
    credentials: credentials
      ? {
          client_email: credentials.getString('client_email'),
          private_key: credentials.getString('private_key'),
        }
      : undefined,
    resumableThresholdBytes: Math.round(
      positive(config, 'resumableThresholdMiB', 8) * MiB,
    ),
    resumableChunkBytes: chunk,
    streamedRequestBytes: streamed,
    fastUploads: config?.getOptionalBoolean('fastUploads') ?? true,
    fastReads: config?.getOptionalBoolean('fastReads') ?? true,
    maxRetries: Math.floor(positive(config, 'maxRetries', 5)),
    maxWritesPerSecond: maxWrites,
    initialWritesPerSecond: Math.min(
      maxWrites,
      positive(config, 'initialWritesPerSecond', 1000),
    ),
    rampDoublingMinutes: config?.getOptionalNumber('rampDoublingMinutes') ?? 20,
    maxReadsPerSecond: positive(config, 'maxReadsPerSecond', 5000),
    listPageSize: Math.min(
      1000,
      Math.floor(positive(config, 'listPageSize', 1000)),
    ),
  };
}

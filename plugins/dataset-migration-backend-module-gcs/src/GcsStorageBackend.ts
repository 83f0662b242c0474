import {
  IdempotencyStrategy,
  RETRYABLE_ERR_FN_DEFAULT,
  Storage,
} from '@google-cloud/storage';
import { proxyConfigured } from './sessionRequest';
import { isConnectionError } from './errors';
import { InputError } from '@backstage/errors';
import type { Config } from '@backstage/config';
import type { DatasetLocation } from '@internal/backstage-plugin-dataset-migration-common';
import {
  crc32c,
  crc32cToBase64,
  ObjectStore,
  ScopedRateLimiters,
  StorageBackend,
} from '@internal/backstage-plugin-dataset-migration-node';
import {
  GCS_CONFIG_KEY,
  GcsBackendOptions,
  isGcsConfigured,
  readGcsOptions,
} from './options';
import { GcsObjectStore } from './GcsObjectStore';

/**
 * The client's CRC32C validator, backed by our slicing-by-8 CRC32C (about
 * 1.7× the client's table-driven one): every upload and full read is hashed
 * in this process, so it bounds large-object throughput.
 */
export function fastCrc32cValidator() {
  let crc = 0;
  const toString = () => crc32cToBase64(crc);
  return {
    update: (data: Buffer) => {
      crc = crc32c(data, crc);
    },
    validate: (value: string) => value === toString(),
    toString,
  };
}

/**
 * What the module registers when `datasetMigration.storage.gcs` is absent:
 * gs:// stays a known scheme, but opening a location fails at once with a
 * 400 saying what to configure, before any credential lookup or request.
 */
export class UnconfiguredGcsStorageBackend implements StorageBackend {
  readonly id = 'gcs';
  readonly schemes = ['gs'] as const;

  async open(_location: DatasetLocation): Promise<ObjectStore> {
    throw new InputError(
      `gs:// locations are not configured on this Backstage backend: set ${GCS_CONFIG_KEY} (see the module README)`,
    );
  }
}

/**
 * Opens `gs://bucket/prefix` locations with one shared client and rate
 * limiters per bucket (GCS's write guidance is per bucket).
 *
 * @public
 */
export class GcsStorageBackend implements StorageBackend {
  readonly id = 'gcs';
  readonly schemes = ['gs'] as const;
  readonly options: GcsBackendOptions;
  readonly storage: Storage;
  /**
   * Whether uploads of known size go out through Node's HTTP client, not the
   * client library (`fastUploads`): small ones as one multipart POST, large
   * ones' chunks to their session. Without a proxy only (Node's client
   * ignores HTTP(S)_PROXY).
   */
  readonly directUploads: boolean;
  /**
   * Whether listings and reads of one object (its bytes, its metadata) go out through
   * Node's HTTP client, not the client library (`fastReads`; without a
   * proxy only).
   */
  readonly directReads: boolean;
  readonly #limiters: ScopedRateLimiters;

  static fromConfig(config: Config): GcsStorageBackend {
    return new GcsStorageBackend(readGcsOptions(config));
  }

  /** The backend for app-config: unconfigured when the gcs block is absent. */
  static forAppConfig(
    config: Config,
  ): GcsStorageBackend | UnconfiguredGcsStorageBackend {
    return isGcsConfigured(config)
      ? GcsStorageBackend.fromConfig(config)
      : new UnconfiguredGcsStorageBackend();
  }

  constructor(options: GcsBackendOptions) {
    this.options = options;
    this.directUploads = options.fastUploads && !proxyConfigured();
    this.directReads = options.fastReads && !proxyConfigured();
    this.#limiters = new ScopedRateLimiters(options);
    this.storage = new Storage({
      projectId: options.projectId,
      apiEndpoint: options.apiEndpoint,
      keyFilename: options.keyFilename,
      credentials: options.credentials,
      crc32cGenerator: fastCrc32cValidator,
      retryOptions: {
        autoRetry: true,
        maxRetries: options.maxRetries,
        // 1 s, 2 s, 4 s… plus up to 1 s of jitter the client adds, capped.
        retryDelayMultiplier: 2,
        maxRetryDelay: 32,
        totalTimeout: 600,
        // Our writes are idempotent (same key, same bytes), so retrying
        // uploads without generation preconditions is safe.
        idempotencyStrategy: IdempotencyStrategy.RetryAlways,
        retryableErrorFn: error =>
          RETRYABLE_ERR_FN_DEFAULT(error) || isConnectionError(error),
      },
    });
  }

  limiter(bucket: string, kind: 'read' | 'write') {
    return this.#limiters.get(bucket, kind);
  }

  async open(location: DatasetLocation): Promise<ObjectStore> {
    if (location.scheme !== 'gs') {
      throw new InputError(
        `The gcs storage backend cannot open '${location.uri}'; it serves gs:// locations`,
      );
    }
    if (!location.bucket) {
      throw new InputError(`Location '${location.uri}' names no bucket`);
    }
    return new GcsObjectStore(this, location);
  }
}

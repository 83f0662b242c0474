import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { InputError } from '@backstage/errors';
import type { Config } from '@backstage/config';
import type { DatasetLocation } from '@internal/backstage-plugin-dataset-migration-common';
import {
  ObjectStore,
  ScopedRateLimiters,
  StorageBackend,
} from '@internal/backstage-plugin-dataset-migration-node';
import {
  isS3Configured,
  readS3Options,
  S3_CONFIG_KEY,
  S3BackendOptions,
} from './options';
import { S3ObjectStore } from './S3ObjectStore';
import { PartBudget } from './PartBudget';
import { NativeCrc32c } from './nativeCrc32c';
import { FastRequests } from './fastRequests';
import { leavePayloadsUnsignedOverTls } from './unsignedPayload';

/**
 * What the module registers when `datasetMigration.storage.s3` is absent:
 * s3:// stays a known scheme, but opening a location fails at once with a
 * 400 saying what to configure, before any network access.
 */
export class UnconfiguredS3StorageBackend implements StorageBackend {
  readonly id = 's3';
  readonly schemes = ['s3'] as const;

  async open(_location: DatasetLocation): Promise<ObjectStore> {
    throw new InputError(
      `s3:// locations are not configured on this Backstage backend: set ${S3_CONFIG_KEY} (see the module README)`,
    );
  }
}

/**
 * The SDK's logger. The SDK calls `logger?.info?.({ input, output })` after
 * every request, building redacted copies of both (its log filter: ~0.1 ms
 * per request, a second per 10,000 small objects) even for its default
 * no-op logger; without `info` (and `error`: the engine reports failures
 * itself) nothing is built. Warnings still reach nowhere, as before.
 */
const SDK_LOGGER = {
  debug() {},
  warn() {},
  trace() {},
} as unknown as S3ClientConfig['logger'];

/**
 * Opens `s3://bucket/prefix` locations with one shared client and one set of
 * rate limiters per bucket/prefix, so every migration touching a prefix
 * counts against the same budget.
 *
 * @public
 */
export class S3StorageBackend implements StorageBackend {
  readonly id = 's3';
  readonly schemes = ['s3'] as const;
  readonly options: S3BackendOptions;
  readonly client: S3Client;
  /**
   * Memory for multipart part buffers (`uploadBufferMiB`), shared by every
   * store this backend opens: concurrent writes wait for it part by part.
   */
  readonly uploadBudget: PartBudget;
  /**
   * Small-object requests without the SDK's middleware (fastRequests.ts);
   * absent with `fastRequests: false`.
   */
  readonly fast?: FastRequests;
  readonly #limiters: ScopedRateLimiters;

  static fromConfig(config: Config): S3StorageBackend {
    return new S3StorageBackend(readS3Options(config));
  }

  /** The backend for app-config: unconfigured when the s3 block is absent. */
  static forAppConfig(
    config: Config,
  ): S3StorageBackend | UnconfiguredS3StorageBackend {
    return isS3Configured(config)
      ? S3StorageBackend.fromConfig(config)
      : new UnconfiguredS3StorageBackend();
  }

  constructor(options: S3BackendOptions) {
    this.options = options;
    this.#limiters = new ScopedRateLimiters(options);
    this.uploadBudget = new PartBudget(options.uploadBufferBytes);
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      credentials: options.credentials,
      // The standard strategy retries 5xx, 429, SlowDown and connection
      // resets per request with jittered exponential backoff (capped at
      // 20 s); a multipart upload thus resumes at the failed part.
      maxAttempts: options.maxAttempts,
      retryMode: 'standard',
      logger: SDK_LOGGER,
      // GETs of objects stored with a CRC32C are checked natively.
      checksumAlgorithms: { CRC32C: NativeCrc32c },
      requestHandler: {
        connectionTimeout: 10_000,
        requestTimeout: 120_000,
        httpAgent: { keepAlive: true, maxSockets: 256 },
        httpsAgent: { keepAlive: true, maxSockets: 256 },
      },
    });
    // Over HTTPS, bodies that declare a CRC32C are not hashed to be signed.
    leavePayloadsUnsignedOverTls(this.client);
    if (options.fastRequests) {
      this.fast = new FastRequests(this.client);
    }
  }

  /** One limiter per bucket+prefix and direction, created on first use. */
  limiter(location: DatasetLocation, kind: 'read' | 'write') {
    return this.#limiters.get(`${location.bucket}/${location.path}`, kind);
  }

  async open(location: DatasetLocation): Promise<ObjectStore> {
    if (location.scheme !== 's3') {
      throw new InputError(
        `The s3 storage backend cannot open '${location.uri}'; it serves s3:// locations`,
      );
    }
    if (!location.bucket) {
      throw new InputError(`Location '${location.uri}' names no bucket`);
    }
    return new S3ObjectStore(this, location);
  }

  destroy() {
    this.client.destroy();
  }
}

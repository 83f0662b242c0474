export interface Config {
  datasetMigration?: {
    storage?: {
      /**
       * Amazon S3 and S3-compatible stores (MinIO, Ceph, R2…) for `s3://`
       * dataset locations. The module serves `s3://` only when this block is
       * present (`s3: {}` uses the AWS default credential chain); without it,
       * every `s3://` location is refused at once with a 400 saying to set
       * it. When planning or approving a migration, the plugin probes each
       * location with a one-key ListObjectsV2 (s3:ListBucket) within
       * `datasetMigration.timeouts.preflightSeconds`.
       */
      s3?: {
        /** Custom endpoint URL for S3-compatible stores. */
        endpoint?: string;
        /** Defaults to the SDK's region chain, else us-east-1. */
        region?: string;
        /** Path-style addressing (`endpoint/bucket/key`), for most S3-compatible stores. */
        forcePathStyle?: boolean;
        /**
         * Static credentials. Without them the AWS default provider chain is
         * used (environment, shared config, SSO, web identity, instance role).
         */
        credentials?: {
          accessKeyId: string;
          /** @visibility secret */
          secretAccessKey: string;
          /** @visibility secret */
          sessionToken?: string;
        };
        /** Multipart part size in MiB (min 5, default 16). */
        partSizeMiB?: number;
        /** Parts uploaded in parallel per object (default 4). */
        uploadConcurrency?: number;
        /**
         * Memory in MiB for buffered upload parts, shared by all concurrent
         * writes to S3 in this backend process (default 256, or one part if
         * `partSizeMiB` is larger). Each part, and each single-request body
         * up to a part, is buffered whole: writes wait for room part by part,
         * so this bounds their memory whatever the number of objects in
         * flight. Must be at least `partSizeMiB`.
         */
        uploadBufferMiB?: number;
        /** Attempts per request, including the first (default 5). */
        maxAttempts?: number;
        /** Ceiling for write requests per second per bucket/prefix (default 3500). */
        maxWritesPerSecond?: number;
        /** Starting write rate; ramps up to maxWritesPerSecond (default: no ramp). */
        initialWritesPerSecond?: number;
        /** Minutes between doublings of the write rate (default 0: no ramp). */
        rampDoublingMinutes?: number;
        /** Ceiling for read requests per second per bucket/prefix (default 5500). */
        maxReadsPerSecond?: number;
        /** Keys per ListObjectsV2 page (1–1000, default 1000). */
        listPageSize?: number;
        /**
         * Additional checksum S3 computes and stores on upload (default CRC32C,
         * stored as a full-object checksum). `none` for stores that reject it.
         */
        checksumAlgorithm?: 'CRC32C' | 'SHA256' | 'none';
        /**
         * Whether a single-part ETag is the object's MD5 (default true). Set
         * to false for buckets with SSE-KMS / SSE-C encryption, where it is not.
         */
        etagIsMd5?: boolean;
        /** Objects larger than this are copied server-side with UploadPartCopy (default 5120 MiB). */
        multipartCopyThresholdMiB?: number;
        /**
         * GetObject, HeadObject, single-part PutObject and CopyObject are signed (SigV4,
         * the SDK's signer and credentials) and sent through the SDK
         * client's HTTP handler without its middleware stack, with the
         * client's retries, clock-skew correction and the GET checksum
         * check: about a third of the main-thread CPU per small object.
         * Buckets the SDK does not sign with plain SigV4 (S3 Express)
         * always go through the SDK. Set false to send every request
         * through the SDK (default true).
         */
        fastRequests?: boolean;
      };
    };
  };
}

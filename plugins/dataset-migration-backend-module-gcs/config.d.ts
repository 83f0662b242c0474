export interface Config {
  datasetMigration?: {
    storage?: {
      /**
       * Google Cloud Storage for `gs://` dataset locations. The module serves
       * `gs://` only when this block is present (`gcs: {}` uses Application
       * Default Credentials); without it, every `gs://` location is refused
       * at once with a 400 saying to set it. When planning or approving a
       * migration, the plugin probes each location with a one-object listing
       * (storage.objects.list) within
       * `datasetMigration.timeouts.preflightSeconds`.
       */
      gcs?: {
        /** Defaults to the project of the credentials. */
        projectId?: string;
        /** Custom endpoint, e.g. `http://127.0.0.1:4443` for an emulator (then no auth is sent). */
        apiEndpoint?: string;
        /** Path to a service-account key file. */
        keyFilename?: string;
        /**
         * Inline service-account credentials. Without these or keyFilename,
         * Application Default Credentials are used.
         */
        credentials?: {
          client_email: string;
          /** @visibility secret */
          private_key: string;
        };
        /** Objects at least this large (or of unknown size) use resumable uploads (default 8). */
        resumableThresholdMiB?: number;
        /** Bytes per resumable-upload request, a multiple of 0.25 (default 16); a failed request resumes here. */
        resumableChunkMiB?: number;
        /**
         * Bytes per request of a streamed upload (a source the engine can
         * read again, its checksums listed: nothing is kept in memory), a
         * multiple of 0.25 (default 256). GCS advises as few requests as
         * possible; a failed one resumes from the byte GCS has.
         */
        streamedRequestMiB?: number;
        /**
         * Send uploads of known size with Node's HTTP client (default true):
         * small objects as one multipart POST, the chunks of resumable
         * uploads straight from the source's buffers to the upload session;
         * false leaves both to the client library. Not used when
         * HTTP(S)_PROXY is set.
         */
        fastUploads?: boolean;
        /**
         * Send listings and reads of one object (its bytes, its metadata)
         * with Node's HTTP client (default true), checking a whole object's
         * bytes against the CRC32C GCS lists; false leaves them to the client
         * library, as are objects stored gzip-encoded. Not used when
         * HTTP(S)_PROXY is set.
         */
        fastReads?: boolean;
        /** Retries per request after the first attempt (default 5). */
        maxRetries?: number;
        /** Ceiling for object writes per second per bucket (default 5000). */
        maxWritesPerSecond?: number;
        /** Starting write rate per bucket (default 1000, GCS's guidance). */
        initialWritesPerSecond?: number;
        /** Minutes between doublings of the write rate (default 20, GCS's guidance; 0 = no ramp). */
        rampDoublingMinutes?: number;
        /** Ceiling for reads per second per bucket (default 5000). */
        maxReadsPerSecond?: number;
        /** Objects per list page (1–1000, default 1000). */
        listPageSize?: number;
      };
    };
  };
}

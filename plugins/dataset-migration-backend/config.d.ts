export interface Config {
  /**
   * Configuration of the dataset-migration backend plugin.
   */
  datasetMigration?: {
    /**
     * Skip the approval step: new migrations go straight from planned to
     * queued. A request's `options.autoApprove` is only honoured when this is
     * true.
     *
     * @default false
     */
    autoApprove?: boolean;

    /**
     * Background workers that execute migrations. Every replica of the
     * backend shares one database-backed queue.
     */
    workers?: {
      /**
       * Whether this replica runs workers. Set to false on replicas that
       * should only serve the REST API.
       *
       * @default true
       */
      enabled?: boolean;
      /**
       * Worker lanes this replica starts with. A lane is not one work item:
       * it claims a batch of up to `batch.maxObjects` items (and
       * `batch.maxMiB`) and copies or validates them one after another, so
       * a replica works on `concurrency` objects at once and holds leases
       * on up to `concurrency` × `batch.maxObjects`. The number of lanes
       * then adapts between `minConcurrency` and `maxConcurrency`.
       *
       * @default 4
       */
      concurrency?: number;
      /**
       * Small objects are claimed, checkpointed and recorded in batches: a
       * worker lane claims up to `maxObjects` items adding up to at most
       * `maxMiB` (always one item per lane, however large), and writes their
       * progress in one statement per phase. A crash redoes at most one
       * batch's unrecorded objects.
       */
      batch?: {
        /** @default 64 */
        maxObjects?: number;
        /** @default 64 */
        maxMiB?: number;
      };
      /**
       * Large objects are copied in parts of this many MiB (rounded up to a
       * multiple of the target's part size, e.g. S3's `partSizeMiB`) that
       * the worker lanes of every replica write in parallel, when the
       * target supports parted writes (S3, local files) and the object is
       * larger than two parts. A crash redoes only the unfinished parts.
       * 0 copies every object in one stream. Objects up to 256 MiB are
       * copied whole by default: with one per lane they already keep the
       * lanes busy, and a whole copy keeps the md5 some stores compare.
       *
       * @default 128
       */
      partMiB?: number;
      /**
       * Worker threads that take the sha256 of objects over 1 MiB when
       * validation re-reads them (`full` mode, and targets that keep no
       * checksum, such as local files), so the main thread stays free and
       * several objects hash at once. 0 hashes on the main thread. Default:
       * one per core Node reports, at most 4 (a container limited by a CPU
       * quota may want fewer). One setting per process.
       */
      hashThreads?: number;
      /**
       * How long a claimed work item (or a migration's driver stage) stays
       * leased to this replica without a heartbeat. Workers heartbeat every
       * `leaseSeconds / 3`; an expired lease makes the item claimable by
       * another replica. Leases are timed on the database's clock (on
       * PostgreSQL, `clock_timestamp()` of the server), not on any
       * replica's, so replicas whose clocks drift apart neither steal live
       * leases nor keep dead ones.
       *
       * @default 60
       */
      leaseSeconds?: number;
      /**
       * How often idle workers look for new work, in milliseconds.
       *
       * @default 500
       */
      pollIntervalMs?: number;
      /**
       * The fewest worker lanes (see `concurrency`: each works a batch of
       * up to `batch.maxObjects` items) this replica runs when it adapts
       * its concurrency: it starts at `concurrency`, grows by one lane per
       * 5-second window while work waits and requests succeed, halves when
       * a store throttles (S3 `SlowDown`, HTTP 429) or memory runs short,
       * and shrinks by one per window when idle (docs/fleet.md, "Adaptive
       * concurrency"). Set it equal to `maxConcurrency` for a fixed number.
       *
       * @default 1
       */
      minConcurrency?: number;
      /**
       * The most worker lanes this replica runs (each works a batch of up
       * to `batch.maxObjects` items, one object at a time).
       *
       * @default `concurrency` when set, else 16
       */
      maxConcurrency?: number;
      /**
       * Resident memory (RSS) this replica may use, in MiB; set it to the
       * container's limit. At 80 % concurrency stops growing, at 90 % it
       * halves.
       *
       * @default the V8 heap limit (`--max-old-space-size`)
       */
      memoryLimitMiB?: number;
    };

    /**
     * Request-rate limits per storage location, held by the whole fleet:
     * every replica takes its requests' tokens from one bucket per entry,
     * kept in the database. A store whose location is, or lies inside, an
     * entry's location waits for a token before each read, write, stat,
     * delete, server-side copy and listing page (docs/fleet.md, "Rate
     * limits").
     */
    rateLimits?: Array<{
      /**
       * A location prefix as migrations name it: a bucket (`s3://bucket`,
       * `gs://bucket`) or a prefix inside one (`s3://bucket/datasets`), or
       * a local folder (`file:///data`, `file://<root name>`).
       */
      location: string;
      /** Requests per second, summed over every replica. */
      requestsPerSecond: number;
      /**
       * Requests allowed back to back after a quiet spell.
       *
       * @default one second's worth (`requestsPerSecond`)
       */
      burst?: number;
    }>;

    /**
     * Retries of work items that failed with a retryable error (network
     * resets, throttling, 5xx).
     */
    retry?: {
      /**
       * Attempts per work item, including the first one.
       *
       * @default 5
       */
      maxAttempts?: number;
      /**
       * Delay before the first retry, in milliseconds; doubled per attempt,
       * with jitter.
       *
       * @default 250
       */
      baseDelayMs?: number;
      /**
       * Upper bound of the delay between retries, in milliseconds.
       *
       * @default 30000
       */
      maxDelayMs?: number;
    };

    /**
     * Notifications (through Backstage's notifications backend): the
     * dataset's owners when a migration awaits approval, succeeds, fails or
     * is rolled back; the owners of its consumers at cutover and rollback.
     */
    notifications?: {
      /**
       * @default true
       */
      enabled?: boolean;
    };

    /**
     * The embedded DuckDB that runs `schema-transform` migrations (one per
     * replica, shared by its workers). Objects are streamed to local spill
     * files for it and removed after each object.
     */
    transform?: {
      /**
       * DuckDB threads.
       *
       * @default 2
       */
      threads?: number;
      /**
       * DuckDB's memory limit (e.g. `256MB`, `2GiB`); beyond it, DuckDB
       * spills to `spillDirectory`. It bounds DuckDB's buffers (including
       * the output it holds back to keep row order), not the replica's whole
       * memory. The transform streams (one `COPY`, one counting pass), so
       * more does not make it faster: the 1 M / 3 M-row benchmark ran as
       * fast at 256MB as at 512MB, with lower peaks (bench/README.md).
       * At 256MB peak memory still grows with the object (about +100 MiB
       * from 1 M to 3 M rows); 128MB keeps it flat, at about 1.5× the time
       * for CSV output.
       *
       * @default 256MB
       */
      memoryLimit?: string;
      /**
       * Folder for spill files (the source object, the transformed output and
       * DuckDB's own temp files). Needs room for about twice the largest
       * object per concurrent work item.
       *
       * @default the system temp folder
       */
      spillDirectory?: string;
      /**
       * A data object larger than two parts of this many MiB is transformed
       * in parts: CSV and NDJSON cut at record ends, Parquet by runs of row
       * groups, each part transformed by
       * whichever worker of any replica claims it, staged in the backup
       * area, and assembled into the target object (Parquet row groups under
       * one rewritten footer). The parts of one object then run on several
       * replicas, and a crash redoes one part, not the object. On one
       * replica it is slower than a whole transform (the data is copied
       * three more times: 3 M rows in 64 MiB parts took 1.4× as long, see
       * bench/README.md). 0 transforms every object whole.
       *
       * @default 1024
       */
      partMiB?: number;
      /**
       * DuckDB jobs (an object's or part's transform, a read-back at
       * validation) one replica runs at once; each may use all `threads`.
       * Spilling, hashing and uploads of other objects go on meanwhile.
       * DuckDB's memory outside its buffer pool grows with every job at
       * once (three concurrent 1 M-row `COPY`s peaked ~200 MiB above one);
       * small objects gain from overlap (200 × 5,000 rows: 17.3 s at 1,
       * 14.0 s at 2, 12.7 s at 4).
       *
       * @default 2
       */
      jobs?: number;
    };

    /** How validation may verify the objects a migration copied. */
    validation?: {
      /**
       * Accept `options.verify: 'none'` (compare sizes only, no checksum and
       * no re-read). Without it such a request is refused with a 400.
       *
       * @default false
       */
      allowVerifyNone?: boolean;
    };

    /**
     * Backups: before a migration overwrites a target object, the engine
     * keeps the original in a backup area so a rollback can restore it.
     * The area is never inside a target: by default it is the reserved
     * folder `.dataset-migration-backups/<migration id>/` at the top of the
     * target's bucket (or local root), which no dataset may use; a target
     * that is a whole bucket or root needs `locations`.
     */
    backups?: {
      /**
       * How long backups stay after a migration finished, so a manual
       * rollback still works; then a scheduled task (one replica at a time)
       * removes them, and a rollback of a migration that overwrote objects
       * is refused with 409. A Backstage duration: `{ days: 7 }`, `P7D`, `7d`.
       *
       * @default { days: 7 }
       */
      retention?: { [unit: string]: number } | string;
      /**
       * How often the purge task runs.
       *
       * @default { hours: 1 }
       */
      purgeFrequency?: { [unit: string]: number } | string;
      /**
       * Per URI scheme (`file`, `s3`, `gs`), a location reserved for backups,
       * e.g. `s3: s3://acme-migration-backups/prod` or `file: file://backups`
       * (a local root of its own). A migration's backups go to
       * `<location>/<migration id>/`. Targets overlapping it are refused.
       */
      locations?: { [scheme: string]: string };
    };

    /**
     * Data retention: a scheduled task (one replica at a time) deletes the
     * work items, events and validation report of migrations that finished
     * longer than `dataAge` ago and can no longer be rolled back (rolled
     * back, or their backups were purged). The migration itself stays, with
     * a summary (`dataSummary`) of what was deleted; it can no longer be
     * rolled back or retried.
     */
    retention?: {
      /**
       * Turns the task off: all data is kept.
       *
       * @default true
       */
      enabled?: boolean;
      /**
       * How long after a migration finished its data is kept. A Backstage
       * duration: `{ days: 90 }`, `P90D`, `90d`.
       *
       * @default { days: 90 }
       */
      dataAge?: { [unit: string]: number } | string;
      /**
       * How often the task runs.
       *
       * @default { hours: 1 }
       */
      frequency?: { [unit: string]: number } | string;
    };

    /**
     * Stall timeouts of every storage call the engine makes: a call that
     * makes no progress for this long fails with a retryable error (visible
     * as an `item-retry` event) instead of hanging the migration.
     */
    timeouts?: {
      /**
       * Seconds a read or write stream, or a listing page, may go without
       * moving a byte; also how long a write may take to settle after its
       * last byte was sent.
       *
       * @default 60
       */
      idleSeconds?: number;
      /**
       * Seconds a call without a byte stream (stat, delete, probe) may take.
       *
       * @default 60
       */
      operationSeconds?: number;
      /**
       * Seconds a server-side copy of one object may take.
       *
       * @default 900
       */
      serverSideCopySeconds?: number;
      /**
       * Seconds the reachability checks of source and target (bucket or
       * root exists, credentials work; run in parallel) may take in all,
       * when a migration is planned (`POST /migrations`) or approved. A store
       * that does not answer in time makes the request fail with 503, and
       * nothing is stored; storage SDK retries do not extend this bound.
       *
       * @default 15
       */
      preflightSeconds?: number;
    };

    /**
     * Storage backends built into the plugin. Object stores (S3, GCS) are
     * configured by their own backend modules.
     */
    storage?: {
      /**
       * The local-filesystem backend, serving `file:///…` locations.
       */
      local?: {
        /**
         * Folders the local backend may read from and write to. Any `file://`
         * location outside them is refused; with no roots, every `file://`
         * location is refused.
         *
         * An item is either a path (absolute, or relative to the backend's
         * working directory), usable as `file:///absolute/path/inside`, or a
         * named root `{ name, path }`, usable as `file://<name>/relative/path`
         * so that catalog files need no machine-specific absolute paths.
         *
         * @default []
         */
        roots?: Array<
          | string
          | {
              /**
               * Root name as it appears in `file://<name>/…`: lowercase
               * letters, digits, `-` and `_`.
               */
              name: string;
              /** Absolute path, or relative to the working directory. */
              path: string;
            }
        >;
      };
    };
  };
}

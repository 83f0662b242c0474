// One measured copy: lists the source, streams every object to the target
// through the storage backends (what the engine's copy stage does per item),
// then checks the target like `rclone check` (sizes + MD5 from listings,
// hashing files where the store has no MD5). Prints one JSON line.
import { createHash } from 'node:crypto';
import { ConfigReader } from '@backstage/config';
import { parseLocation } from '@internal/backstage-plugin-dataset-migration-common';
import type {
  ObjectInfo,
  ObjectStore,
  StorageBackend,
} from '@internal/backstage-plugin-dataset-migration-node';
import { S3StorageBackend } from '../plugins/dataset-migration-backend-module-s3/src/S3StorageBackend';
import { GcsStorageBackend } from '../plugins/dataset-migration-backend-module-gcs/src/GcsStorageBackend';
import { createLocalStorageBackend } from '../plugins/dataset-migration-backend/src/engine';

const [source, target, s3Endpoint, gcsEndpoint, concurrencyArg] =
  process.argv.slice(2);
const concurrency = Number(concurrencyArg ?? 16);

async function md5Of(store: ObjectStore, info: ObjectInfo) {
  if (info.checksums?.md5) {
    return info.checksums.md5;
  }
  const hash = createHash('md5');
  for await (const chunk of await store.read(info.key)) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

async function pool<T>(
  items: AsyncIterator<T>,
  work: (item: T) => Promise<void>,
) {
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const next = await items.next();
        if (next.done) {
          return;
        }
        await work(next.value);
      }
    }),
  );
}

async function main() {
  const config = new ConfigReader({
    datasetMigration: {
      storage: {
        s3: {
          endpoint: s3Endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
          credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        },
        gcs: { apiEndpoint: gcsEndpoint, projectId: 'bench' },
        local: { roots: [process.env.BENCH_LOCAL_ROOT ?? '/tmp'] },
      },
    },
  });
  const backends: StorageBackend[] = [
    S3StorageBackend.fromConfig(config),
    GcsStorageBackend.fromConfig(config),
    createLocalStorageBackend(config),
  ];
  const open = (uri: string) => {
    const location = parseLocation(uri);
    return backends
      .find(b => b.schemes.includes(location.scheme))!
      .open(location);
  };
  const from = await open(source);
  const to = await open(target);

  const listing = new Map<string, ObjectInfo>();
  let bytes = 0;
  const copyStart = process.hrtime.bigint();
  await pool(from.list()[Symbol.asyncIterator](), async info => {
    listing.set(info.key, info);
    bytes += info.size;
    await to.write(info.key, await from.read(info.key), { size: info.size });
  });
  const copySeconds = Number(process.hrtime.bigint() - copyStart) / 1e9;

  const checkStart = process.hrtime.bigint();
  let mismatches = 0;
  let seen = 0;
  await pool(to.list()[Symbol.asyncIterator](), async info => {
    if (info.key.startsWith('.dataset-migration-backups/')) {
      return;
    }
    seen++;
    const expected = listing.get(info.key);
    if (
      !expected ||
      expected.size !== info.size ||
      (await md5Of(from, expected)) !== (await md5Of(to, info))
    ) {
      mismatches++;
    }
  });
  const checkSeconds = Number(process.hrtime.bigint() - checkStart) / 1e9;
  mismatches += listing.size - seen;
  process.stdout.write(
    `${JSON.stringify({
      objects: listing.size,
      bytes,
      copySeconds,
      checkSeconds,
      mismatches,
    })}\n`,
  );
  (backends[0] as S3StorageBackend).destroy();
}

main().catch(error => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});

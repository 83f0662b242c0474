import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { crc32c } from '@internal/backstage-plugin-dataset-migration-node';

const OBJECT = '._S3rver_object';
const UPLOADS = '._S3rver_uploads';

/**
 * What s3rver holds under `bucket/prefix/`, read from its directory behind
 * the client's back: object keys relative to the prefix, and the keys of
 * unfinished multipart uploads (marked as such).
 */
export async function s3rverStoredNames(
  directory: string,
  bucket: string,
  prefix: string,
): Promise<string[]> {
  const names: string[] = [];
  const root = path.join(directory, bucket, ...prefix.split('/'));
  const walk = async (rel: string) => {
    const entries = await fs
      .readdir(path.join(root, rel), { withFileTypes: true })
      .catch(e => (e?.code === 'ENOENT' ? [] : Promise.reject(e)));
    for (const entry of entries) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        await walk(child);
      } else if (entry.name.endsWith(OBJECT)) {
        names.push(child.slice(0, -OBJECT.length));
      }
    }
  };
  await walk('');
  const uploads = path.join(directory, bucket, UPLOADS);
  const ids = await fs.readdir(uploads).catch(() => [] as string[]);
  for (const id of ids) {
    const key = await fs
      .readFile(path.join(uploads, id, 'key'), 'utf8')
      .catch(() => undefined);
    if (key?.startsWith(`${prefix}/`)) {
      names.push(`${key.slice(prefix.length + 1)} (unfinished upload ${id})`);
    }
  }
  return names;
}

/**
 * Replaces an object's bytes in s3rver's directory as another writer's
 * PutObject with a CRC32C would (new bytes, MD5 ETag and CRC32C; see
 * s3rverChecksums.js), synchronously: a proxy's decider can do it between
 * two requests of the engine.
 */
export function overwriteS3rverObjectSync(
  directory: string,
  bucket: string,
  key: string,
  bytes: Buffer,
) {
  const file = (what: string) =>
    path.join(directory, bucket, ...`${key}._S3rver_${what}`.split('/'));
  writeFileSync(file('object'), bytes);
  writeFileSync(
    file('object.md5'),
    createHash('md5').update(bytes).digest('hex'),
  );
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32c(bytes));
  const metadata = JSON.parse(readFileSync(file('metadata.json'), 'utf8'));
  writeFileSync(
    file('metadata.json'),
    JSON.stringify({
      ...metadata,
      'x-amz-checksum-crc32c': crc.toString('base64'),
      'x-amz-checksum-type': 'FULL_OBJECT',
    }),
  );
}

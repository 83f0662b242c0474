import fs from 'node:fs/promises';
import path from 'node:path';

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

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { walk, WalkOptions } from './walk';

async function filesOf(dir: string, options?: WalkOptions) {
  const keys: string[] = [];
  for await (const { rel, entry } of walk(dir, options)) {
    if (entry.isFile()) keys.push(rel ? `${rel}/${entry.name}` : entry.name);
  }
  return keys;
}

const byUtf8 = (a: string, b: string) =>
  Buffer.compare(Buffer.from(a), Buffer.from(b));

describe('walk', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'walk-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  const put = async (key: string) => {
    await fs.mkdir(path.dirname(path.join(dir, key)), { recursive: true });
    await fs.writeFile(path.join(dir, key), key);
  };

  it('visits files in the UTF-8 byte order of their keys, as S3 and GCS list them', async () => {
    const keys = [
      'a/c',
      'a-b',
      'a0',
      'B',
      'b',
      'a/b/z',
      'a/b-',
      'é/x',
      'z',
      'a.txt',
      'deep/er/and/deeper/f',
      'deep/er-',
      '_under',
    ];
    for (const key of keys) await put(key);
    const listed = await filesOf(dir);
    expect(listed).toEqual([...keys].sort(byUtf8));
    // Not the UTF-16 order of the same strings, nor a folder-first walk.
    expect(listed.indexOf('a-b')).toBeLessThan(listed.indexOf('a/c'));
    expect(listed.indexOf('z')).toBeLessThan(listed.indexOf('é/x'));
  });

  it('streams a folder too large to sort: every entry once, memory bounded', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `f${i}`);
    for (const key of [...keys, 'sub/x', 'sub/y']) await put(key);
    const listed = await filesOf(dir, { sortedFolderEntries: 10 });
    expect([...listed].sort()).toEqual([...keys, 'sub/x', 'sub/y'].sort());
    // A small subfolder of a large one is still sorted.
    expect(listed.filter(k => k.startsWith('sub/'))).toEqual([
      'sub/x',
      'sub/y',
    ]);
  });

  it('skips the named top-level folder only, and a missing folder has no entries', async () => {
    for (const key of ['.backups/old', 'data/.backups/kept', 'top']) {
      await put(key);
    }
    expect(await filesOf(dir, { skipTopLevel: '.backups' })).toEqual([
      'data/.backups/kept',
      'top',
    ]);
    expect(await filesOf(path.join(dir, 'missing'))).toEqual([]);
  });

  it('stops reading when the signal fires', async () => {
    for (const key of ['a', 'b', 'c']) await put(key);
    const controller = new AbortController();
    const seen: string[] = [];
    await expect(async () => {
      for await (const { entry } of walk(dir, { signal: controller.signal })) {
        seen.push(entry.name);
        controller.abort();
      }
    }).rejects.toThrow();
    expect(seen).toEqual(['a']);
  });
});

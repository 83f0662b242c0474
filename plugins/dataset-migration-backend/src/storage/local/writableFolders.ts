import fs from 'node:fs/promises';
import { statSync } from 'node:fs';
import path from 'node:path';
import { assertRealInside, keyPath, resolveKey } from './paths';

/** How many checked folders are remembered (see {@link WritableFolders}). */
const REMEMBERED_LIMIT = 10_000;

/**
 * Where a local store may write: the path of a key, its folders made, and
 * no folder made or written through a symlink that leaves the dataset
 * folder. A racing process could swap a folder for a symlink at any time,
 * so every write checks the key's folder again: one `stat` (one path walk
 * in the kernel) must still find the very folder whose real path was
 * checked; anything else (a symlink to another folder, a folder made anew)
 * is checked again in full (`realpath`, one system call per path segment,
 * which cost 2.5 s per 10,000 small writes). A symlink at the key itself is
 * replaced by the writer's rename, never written through.
 */
export class WritableFolders {
  /**
   * Folders made (or found) for writes and checked, with the identity
   * (device and inode) of the real folder that was checked to lie inside
   * the dataset folder. Bounded; forgotten when it fills up.
   */
  readonly #checked = new Map<string, { dev: number; ino: number }>();

  constructor(private readonly dir: string) {}

  /**
   * The path to write `key` to when its folder was checked before and one
   * synchronous `stat` still finds that very folder; else `undefined` (use
   * {@link WritableFolders.pathFor}). For small writes done synchronously
   * (smallFiles.ts), on a disk fast enough for that.
   */
  knownPath(key: string): string | undefined {
    const full = keyPath(this.dir, key);
    const parent = path.dirname(full);
    const known = this.#checked.get(parent);
    if (!known) return undefined;
    const now = statSync(parent, { throwIfNoEntry: false });
    return now?.dev === known.dev && now.ino === known.ino ? full : undefined;
  }

  async pathFor(key: string): Promise<string> {
    const full = keyPath(this.dir, key);
    const parent = path.dirname(full);
    const known = this.#checked.get(parent);
    if (known) {
      const now = await fs.stat(parent).catch(e => {
        // Removed since (a rollback removes emptied folders): make it again.
        if (e?.code === 'ENOENT' || e?.code === 'ENOTDIR') return undefined;
        throw e;
      });
      if (now?.dev === known.dev && now.ino === known.ino) return full;
      this.#checked.delete(parent);
    }
    await resolveKey(this.dir, key);
    await fs.mkdir(parent, { recursive: true });
    // The folders just created could not be symlinks, but a racing process
    // could have swapped one in; check again before writing through them.
    const before = await fs.stat(parent);
    const real = await fs.realpath(parent);
    assertRealInside(this.dir, key, real);
    // Remembered only when the path and the real folder checked are the
    // same folder on both sides of the check (no swap in between).
    const checked = await fs.stat(real);
    if (before.dev === checked.dev && before.ino === checked.ino) {
      if (this.#checked.size >= REMEMBERED_LIMIT) this.#checked.clear();
      this.#checked.set(parent, { dev: checked.dev, ino: checked.ino });
    }
    return full;
  }
}

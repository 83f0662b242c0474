import fs from 'node:fs/promises';
import path from 'node:path';
import { InputError, NotAllowedError } from '@backstage/errors';
import {
  InvalidLocationError,
  validateKey,
} from '@internal/backstage-plugin-dataset-migration-common';

export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  // `..hidden` or `a..b` are names inside `parent`; only a `..` segment leaves.
  return (
    rel === '' ||
    (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel))
  );
}

/** Realpath of `p`, or of its deepest existing ancestor joined with the rest. */
export async function realpathLenient(p: string): Promise<string> {
  const missing: string[] = [];
  let current = path.resolve(p);
  for (;;) {
    try {
      const real = await fs.realpath(current);
      return path.join(real, ...missing.reverse());
    } catch (e: any) {
      if (e?.code !== 'ENOENT' && e?.code !== 'ENOTDIR') throw e;
      const parent = path.dirname(current);
      if (parent === current) return path.join(current, ...missing.reverse());
      missing.push(path.basename(current));
      current = parent;
    }
  }
}

/**
 * Maps an object key to a path under `dir` without touching the disk:
 * refuses keys with `..` segments or absolute keys. Symlinks are not
 * checked: see {@link resolveKey} and {@link assertRealInside}.
 */
export function keyPath(dir: string, key: string): string {
  try {
    validateKey(key);
  } catch (e) {
    if (e instanceof InvalidLocationError) {
      throw new InputError(`Refusing object key: ${e.message}`);
    }
    throw e;
  }
  const full = path.join(dir, ...key.split('/'));
  if (!isInside(dir, full)) {
    throw new NotAllowedError(`Object key '${key}' leaves the dataset folder`);
  }
  return full;
}

/** Refuses a key whose real path (symlinks resolved) is outside `dir`. */
export function assertRealInside(dir: string, key: string, real: string) {
  if (!isInside(dir, real)) {
    throw new NotAllowedError(
      // Server paths stay out of the message: it can reach API callers.
      `Object key '${key}' resolves through a symlink that leaves the dataset folder`,
    );
  }
}

/**
 * Maps an object key to a path under `dir`, refusing keys that could leave it:
 * `..` segments, absolute keys, and symlinks (anywhere on the way) that point
 * outside `dir`.
 */
export async function resolveKey(dir: string, key: string): Promise<string> {
  const full = keyPath(dir, key);
  assertRealInside(dir, key, await realpathLenient(full));
  return full;
}

import fs from 'node:fs/promises';
import type { Dir, Dirent } from 'node:fs';
import path from 'node:path';

/**
 * Folders with at most this many entries are read whole and walked in key
 * order; larger ones stream in the file system's order (ext4: hash order),
 * so that memory stays bounded by the tree's depth, not a folder's size.
 */
export const SORTED_FOLDER_ENTRIES = 10_000;

export interface WalkOptions {
  signal?: AbortSignal;
  /** Names skipped in the top folder (the backup area). */
  skipTopLevel?: string;
  /** Overrides {@link SORTED_FOLDER_ENTRIES} (tests). */
  sortedFolderEntries?: number;
}

/** A file system entry and the folder it is in (relative, `/`-separated). */
export interface WalkEntry {
  rel: string;
  entry: Dirent;
}

/**
 * Every entry under `dir`, depth first. Folders up to
 * {@link SORTED_FOLDER_ENTRIES} entries are visited in the UTF-8 byte order
 * of the keys they make (`rel/name`; a folder sorts as `name/`, so `a-b`
 * comes before `a/c` as in S3 and GCS listings): a dataset of such folders
 * lists in the order of its keys, and the engine's batches of items then hold
 * neighbouring keys (one listing of the target answers for a batch). A
 * missing `dir` has no entries.
 */
export async function* walk(
  dir: string,
  options: WalkOptions = {},
): AsyncIterable<WalkEntry> {
  yield* walkFolder(dir, '', options);
}

async function* walkFolder(
  dir: string,
  rel: string,
  options: WalkOptions,
): AsyncIterable<WalkEntry> {
  const { signal, skipTopLevel } = options;
  const max = options.sortedFolderEntries ?? SORTED_FOLDER_ENTRIES;
  let handle: Dir;
  try {
    handle = await fs.opendir(rel ? path.join(dir, rel) : dir);
  } catch (e: any) {
    // The top folder may not exist yet.
    if (e?.code === 'ENOENT' && rel === '') return;
    throw e;
  }
  const visit = async function* visit(entry: Dirent) {
    signal?.throwIfAborted();
    yield { rel, entry };
    if (entry.isDirectory()) {
      yield* walkFolder(
        dir,
        rel ? `${rel}/${entry.name}` : entry.name,
        options,
      );
    }
  };
  let held: Dirent[] | undefined = [];
  try {
    for await (const entry of handle) {
      if (rel === '' && entry.name === skipTopLevel) continue;
      if (!held) {
        yield* visit(entry);
        continue;
      }
      held.push(entry);
      if (held.length > max) {
        // Too large to sort: what was read goes first, the rest streams.
        const first: Dirent[] = held;
        held = undefined;
        for (const e of first) yield* visit(e);
      }
    }
  } finally {
    // An early return (the caller stopped listing) leaves the handle open.
    await handle.close().catch(() => undefined);
  }
  if (!held) return;
  const sortKeys = new Map(
    held.map(e => [e, Buffer.from(e.isDirectory() ? `${e.name}/` : e.name)]),
  );
  held.sort((a, b) => Buffer.compare(sortKeys.get(a)!, sortKeys.get(b)!));
  for (const entry of held) yield* visit(entry);
}

import { rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DatasetLocation } from '@internal/backstage-plugin-dataset-migration-common';

/**
 * Folder (first key segment) under a target location where the engine keeps
 * the originals of overwritten objects. Listings skip it so backups never
 * appear in a dataset's listing, plan or manifest.
 */
export const BACKUP_FOLDER = '.dataset-migration-backups';

export function isInternalKey(key: string): boolean {
  return key === BACKUP_FOLDER || key.startsWith(`${BACKUP_FOLDER}/`);
}

/** The location holding the backups of one migration. */
export function backupLocationUri(
  target: DatasetLocation,
  migrationId: string,
) {
  return `${target.uri.replace(/\/+$/, '')}/${BACKUP_FOLDER}/${migrationId}`;
}

/**
 * Object stores have no folders, but on a file system the emptied backup
 * folders would remain visible next to the restored dataset.
 */
export async function removeEmptyBackupFolders(backups: DatasetLocation) {
  if (backups.scheme !== 'file') return;
  for (const dir of [backups.path, dirname(backups.path)]) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
  }
}

import { InputError } from '@backstage/errors';
import type { Config } from '@backstage/config';
import type { DatasetLocation } from '@internal/backstage-plugin-dataset-migration-common';
import {
  locationsOverlap,
  parseLocation,
} from '@internal/backstage-plugin-dataset-migration-common';

/**
 * Folder (first key segment of a bucket or local root) reserved for the
 * engine's backups: the originals of the objects a migration overwrites.
 * It is never inside a target (a target that would contain it is refused),
 * no dataset may be located in it, and listings of a whole bucket or root
 * skip it.
 */
export const BACKUP_FOLDER = '.dataset-migration-backups';

export function isInternalKey(key: string): boolean {
  return key === BACKUP_FOLDER || key.startsWith(`${BACKUP_FOLDER}/`);
}

/**
 * `datasetMigration.backups.locations`: per URI scheme, a location reserved
 * for backups (e.g. `s3://acme-dm-backups/prod`); a migration's backups go
 * to `<location>/<migration id>/<key>`.
 */
export function readBackupLocations(
  config: Config,
): Map<string, DatasetLocation> {
  const key = 'datasetMigration.backups.locations';
  const section = config.getOptionalConfig(key);
  const result = new Map<string, DatasetLocation>();
  for (const scheme of section?.keys() ?? []) {
    const uri = section!.getString(scheme);
    let location: DatasetLocation;
    try {
      location = parseLocation(uri);
    } catch (e) {
      throw new Error(`${key}.${scheme}: ${(e as Error).message}`);
    }
    if (location.scheme !== (scheme === 'gcs' ? 'gs' : scheme)) {
      throw new Error(`${key}.${scheme} must be a ${scheme}:// location`);
    }
    result.set(location.scheme, location);
  }
  return result;
}

/**
 * Refuses a dataset location (a source or target named by a user) that lies
 * in a backup area: the reserved folder of a bucket, or a configured area.
 */
export function assertNotBackupArea(
  location: DatasetLocation,
  configured: Map<string, DatasetLocation>,
) {
  const area = configured.get(location.scheme);
  const reserved =
    location.scheme !== 'file' && isInternalKey(location.path)
      ? `${location.scheme}://${location.bucket}/${BACKUP_FOLDER}`
      : undefined;
  if (reserved || (area && locationsOverlap(area, location))) {
    throw new InputError(
      `Location ${location.uri} overlaps the backup area ${
        reserved ?? area!.uri
      }, which is reserved for the engine's backups`,
    );
  }
}

/**
 * The default backup location of a bucket-based target: the bucket's
 * reserved folder, outside every dataset prefix of the bucket.
 */
export function defaultBucketBackupUri(
  target: DatasetLocation,
  migrationId: string,
): string {
  if (target.path === '') {
    throw new InputError(
      `Target ${target.uri} is a whole bucket; its backup area ${target.scheme}://${target.bucket}/${BACKUP_FOLDER} would be inside it. Choose a prefix, or set datasetMigration.backups.locations.${target.scheme} to a location in another bucket`,
    );
  }
  return `${target.scheme}://${target.bucket}/${BACKUP_FOLDER}/${migrationId}`;
}

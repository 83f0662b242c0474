import {
  ANNOTATION_LOCATION,
  ANNOTATION_ORIGIN_LOCATION,
  CompoundEntityRef,
  DEFAULT_NAMESPACE,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import {
  ANNOTATION_MIGRATION_ID,
  Migration,
  MIGRATION_API_VERSION,
  MIGRATION_KIND,
  MigrationEntityV1alpha1,
} from '@internal/backstage-plugin-dataset-migration-common';
import { createHash } from 'node:crypto';

const MAX_NAME_LENGTH = 63;
const MAX_ID_PART_LENGTH = 40;

function toDnsLabel(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * Derives a stable, DNS-label safe entity name (at most 63 characters) from
 * the dataset's name and the migration id, e.g. `plays-3f2a…`.
 *
 * The id part is what makes names unique, so it is never truncated: ids that
 * are not already DNS-label safe (or are very long) are replaced by a hash,
 * because sanitising them could make two ids collide.
 */
export function migrationEntityName(
  dataset: CompoundEntityRef,
  migrationId: string,
): string {
  const idPart =
    /^[a-z0-9]+(-[a-z0-9]+)*$/.test(migrationId) &&
    migrationId.length <= MAX_ID_PART_LENGTH
      ? migrationId
      : createHash('sha256').update(migrationId).digest('hex').slice(0, 16);
  const room = MAX_NAME_LENGTH - idPart.length - 1;
  const datasetPart = toDnsLabel(dataset.name)
    .slice(0, room)
    .replace(/-+$/, '');
  return `${datasetPart || 'migration'}-${idPart}`;
}

/**
 * Maps a migration from the dataset-migration backend to a `Migration`
 * catalog entity. Live status (state, step, progress) is deliberately left
 * out: it changes every second and would churn the catalog; the entity card
 * reads it from the backend instead.
 *
 * @param owner - the entity ref that owns the migration; callers derive it
 *   from `createdBy` or, failing that, the dataset's owner.
 */
export function migrationToEntity(
  migration: Migration,
  options: { baseUrl: string; owner: string },
): MigrationEntityV1alpha1 {
  const dataset = parseEntityRef(migration.dataset, {
    defaultKind: 'Resource',
    defaultNamespace: DEFAULT_NAMESPACE,
  });
  const location = `dataset-migration:${
    options.baseUrl
  }/migrations/${encodeURIComponent(migration.id)}`;

  return {
    apiVersion: MIGRATION_API_VERSION,
    kind: MIGRATION_KIND,
    metadata: {
      name: migrationEntityName(dataset, migration.id),
      namespace: dataset.namespace,
      title: `Migrate ${dataset.name} to ${migration.target.location}`,
      description: `${migration.strategy} of ${stringifyEntityRef(
        dataset,
      )} from ${migration.source.location} to ${
        migration.target.location
      }, requested by ${migration.createdBy} at ${migration.createdAt}.`,
      annotations: {
        [ANNOTATION_MIGRATION_ID]: migration.id,
        [ANNOTATION_LOCATION]: location,
        [ANNOTATION_ORIGIN_LOCATION]: location,
      },
      tags: [migration.strategy],
    },
    spec: {
      source: stringifyEntityRef(dataset),
      target: {
        location: migration.target.location,
        ...(migration.target.format && { format: migration.target.format }),
      },
      strategy: migration.strategy,
      owner: options.owner,
    },
  };
}

/**
 * Returns `createdBy` when it names a user or group, which is the case for
 * every migration created through the API by a person.
 */
export function ownerFromCreatedBy(createdBy: string): string | undefined {
  try {
    const ref = parseEntityRef(createdBy, {
      defaultKind: 'User',
      defaultNamespace: DEFAULT_NAMESPACE,
    });
    const kind = ref.kind.toLocaleLowerCase('en-US');
    return kind === 'user' || kind === 'group'
      ? stringifyEntityRef(ref)
      : undefined;
  } catch {
    return undefined;
  }
}

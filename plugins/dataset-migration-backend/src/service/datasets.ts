import type { BackstageCredentials } from '@backstage/backend-plugin-api';
import {
  type Entity,
  parseEntityRef,
  RELATION_DEPENDENCY_OF,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { InputError, NotFoundError } from '@backstage/errors';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import {
  ANNOTATION_DATASET_FORMAT,
  ANNOTATION_DATASET_LOCATION,
  ANNOTATION_DATASET_MAPPING,
  ANNOTATION_DATASET_SCHEMA,
  DATASET_FORMATS,
  type DatasetFormat,
  InvalidLocationError,
  MIGRATION_KIND,
  parseLocation,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { DatasetInfo, MigrationService } from './types';

/**
 * Entity refs are case-insensitive in Backstage; the engine stores and filters
 * them as plain strings, so every ref is brought to one canonical form here.
 */
export function normalizeEntityRef(ref: string): string {
  try {
    return stringifyEntityRef(parseEntityRef(ref)).toLocaleLowerCase('en-US');
  } catch (e) {
    throw new InputError(`'${ref}' is not a valid entity ref: ${e}`);
  }
}

/** A dataset as the catalog and the engine know it. */
export interface ResolvedDataset extends DatasetInfo {
  /** The location the catalog annotation gives (before any cutover). */
  annotationLocation: string;
  /** Owner from `spec.owner`, if any. */
  owner?: string;
}

/**
 * Looks datasets up in the catalog with the caller's credentials, so a user
 * cannot migrate (or even probe) a dataset the catalog hides from them.
 */
export class DatasetResolver {
  constructor(
    private readonly catalog: CatalogService,
    private readonly migrations: Pick<MigrationService, 'getEffectiveLocation'>,
  ) {}

  async resolve(
    entityRef: string,
    credentials: BackstageCredentials,
  ): Promise<ResolvedDataset> {
    const ref = normalizeEntityRef(entityRef);
    const entity = await this.catalog.getEntityByRef(ref, { credentials });
    if (!entity) {
      throw new NotFoundError(
        `Dataset entity '${ref}' was not found in the catalog`,
      );
    }
    const annotationLocation = readLocationAnnotation(entity, ref);
    const [effective, consumers] = await Promise.all([
      this.migrations.getEffectiveLocation(ref),
      this.findConsumers(entity, ref, credentials),
    ]);
    const owner = (entity.spec as { owner?: unknown } | undefined)?.owner;
    return {
      ref,
      location: effective?.location ?? annotationLocation,
      annotationLocation,
      format: effective?.format ?? readFormatAnnotation(entity, ref),
      consumers,
      mappingText: entity.metadata.annotations?.[ANNOTATION_DATASET_MAPPING],
      schemaText: effective
        ? undefined
        : entity.metadata.annotations?.[ANNOTATION_DATASET_SCHEMA],
      owner: typeof owner === 'string' ? owner : undefined,
    };
  }

  /**
   * Consumers are the entities that depend on the dataset. The dataset's own
   * `dependencyOf` relations cover what the catalog has stitched; the query
   * also finds dependants whose relations were not mirrored onto the dataset.
   *
   * Migration entities are never consumers, whatever relations they carry:
   * their processor relates them to the dataset with `migrationOf`, but one
   * processed by an older version keeps its `dependsOn` until the catalog
   * reprocesses it, and another processor could add one. A past migration is
   * not someone to notify about the next.
   */
  private async findConsumers(
    entity: Entity,
    ref: string,
    credentials: BackstageCredentials,
  ): Promise<string[]> {
    const refs = new Set<string>();
    for (const relation of entity.relations ?? []) {
      if (relation.type === RELATION_DEPENDENCY_OF) {
        refs.add(normalizeEntityRef(relation.targetRef));
      }
    }
    const { items } = await this.catalog.getEntities(
      {
        filter: { 'relations.dependsOn': ref },
        fields: ['kind', 'metadata.namespace', 'metadata.name'],
      },
      { credentials },
    );
    for (const dependant of items) {
      refs.add(stringifyEntityRef(dependant).toLocaleLowerCase('en-US'));
    }
    return [...refs].filter(consumer => !isMigrationRef(consumer)).sort();
  }
}

const MIGRATION_KIND_LOWER = MIGRATION_KIND.toLocaleLowerCase('en-US');

/** `consumer` is a normalised (lower-case) entity ref. */
function isMigrationRef(consumer: string): boolean {
  return parseEntityRef(consumer).kind === MIGRATION_KIND_LOWER;
}

function readLocationAnnotation(entity: Entity, ref: string): string {
  const value = entity.metadata.annotations?.[ANNOTATION_DATASET_LOCATION];
  if (!value) {
    throw new InputError(
      `Entity '${ref}' is not a dataset: it has no '${ANNOTATION_DATASET_LOCATION}' annotation`,
    );
  }
  try {
    return parseLocation(value).uri;
  } catch (e) {
    throw new InputError(
      `Entity '${ref}' has an invalid '${ANNOTATION_DATASET_LOCATION}' annotation: ${
        e instanceof InvalidLocationError ? e.message : String(e)
      }`,
    );
  }
}

function readFormatAnnotation(
  entity: Entity,
  ref: string,
): DatasetFormat | undefined {
  const value = entity.metadata.annotations?.[ANNOTATION_DATASET_FORMAT];
  if (value === undefined) {
    return undefined;
  }
  if (!(DATASET_FORMATS as readonly string[]).includes(value)) {
    throw new InputError(
      `Entity '${ref}' has an invalid '${ANNOTATION_DATASET_FORMAT}' annotation '${value}'; use one of ${DATASET_FORMATS.join(
        ', ',
      )}`,
    );
  }
  return value as DatasetFormat;
}

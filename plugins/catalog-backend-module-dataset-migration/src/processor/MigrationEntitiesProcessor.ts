import {
  CompoundEntityRef,
  Entity,
  getCompoundEntityRef,
  parseEntityRef,
  RELATION_OWNED_BY,
  RELATION_OWNER_OF,
} from '@backstage/catalog-model';
import {
  CatalogProcessor,
  CatalogProcessorEmit,
  LocationSpec,
  processingResult,
} from '@backstage/plugin-catalog-node';
import {
  isMigrationEntity,
  migrationEntityV1alpha1Validator,
  RELATION_HAS_MIGRATION,
  RELATION_MIGRATION_OF,
} from '@internal/backstage-plugin-dataset-migration-common';

/**
 * Adds the `Migration` kind (`dataset-migration.io/v1alpha1`) to the catalog:
 * validates its spec and relates it to the dataset it migrates and its owner.
 *
 * The dataset relation is `migrationOf` / `hasMigration`, not `dependsOn` /
 * `dependencyOf`: a migration is not a consumer of the dataset, and the
 * dataset-migration backend lists the dataset's dependants as the consumers
 * to notify in every plan.
 *
 * @public
 */
export class MigrationEntitiesProcessor implements CatalogProcessor {
  getProcessorName(): string {
    return 'MigrationEntitiesProcessor';
  }

  async validateEntityKind(entity: Entity): Promise<boolean> {
    // Throws a TypeError naming every bad field when the entity claims to be
    // a Migration but its spec is malformed; the catalog shows that message
    // as the entity's processing error.
    return migrationEntityV1alpha1Validator.check(entity);
  }

  async postProcessEntity(
    entity: Entity,
    location: LocationSpec,
    emit: CatalogProcessorEmit,
  ): Promise<Entity> {
    if (!isMigrationEntity(entity)) {
      return entity;
    }
    const selfRef = getCompoundEntityRef(entity);

    const source = this.parseRef(entity.spec.source, 'Resource', selfRef);
    if (source) {
      this.emitRelation(emit, selfRef, RELATION_MIGRATION_OF, source);
      this.emitRelation(emit, source, RELATION_HAS_MIGRATION, selfRef);
    } else {
      emit(
        processingResult.inputError(
          location,
          `Migration ${entity.metadata.name} has an invalid spec.source '${entity.spec.source}': expected an entity ref like resource:default/plays`,
        ),
      );
    }

    const owner = this.parseRef(entity.spec.owner, 'Group', selfRef);
    if (owner) {
      this.emitRelation(emit, selfRef, RELATION_OWNED_BY, owner);
      this.emitRelation(emit, owner, RELATION_OWNER_OF, selfRef);
    } else {
      emit(
        processingResult.inputError(
          location,
          `Migration ${entity.metadata.name} has an invalid spec.owner '${entity.spec.owner}': expected an entity ref like group:default/data-platform`,
        ),
      );
    }

    return entity;
  }

  private parseRef(
    ref: string,
    defaultKind: string,
    selfRef: CompoundEntityRef,
  ): CompoundEntityRef | undefined {
    try {
      const parsed = parseEntityRef(ref, {
        defaultKind,
        defaultNamespace: selfRef.namespace,
      });
      return {
        kind: parsed.kind,
        namespace: parsed.namespace,
        name: parsed.name,
      };
    } catch {
      return undefined;
    }
  }

  private emitRelation(
    emit: CatalogProcessorEmit,
    source: CompoundEntityRef,
    type: string,
    target: CompoundEntityRef,
  ) {
    emit(processingResult.relation({ source, type, target }));
  }
}

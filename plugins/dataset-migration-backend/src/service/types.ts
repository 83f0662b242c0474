import type {
  CreateMigrationRequest,
  DatasetFormat,
  FleetStatus,
  Migration,
  MigrationEvent,
  ValidationReport,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { MigrationFilter } from '../database/MigrationStore';

/**
 * What the API layer resolved about the dataset from the catalog before it
 * asks the engine to do anything. The engine never talks to the catalog.
 */
export interface DatasetInfo {
  /** Entity ref, e.g. `resource:default/plays`. */
  ref: string;
  /** Current location (annotation, or the target of the last cutover). */
  location: string;
  format?: DatasetFormat;
  /** Entity refs of the dataset's consumers (entities that depend on it). */
  consumers: string[];
  /**
   * The `dataset-migration.io/mapping` annotation: a schema-transform
   * mapping as YAML or JSON text.
   */
  mappingText?: string;
  /**
   * The `dataset-migration.io/schema` annotation (JSON or YAML text), while
   * it still describes the data: not after a cutover moved the dataset.
   */
  schemaText?: string;
  /** Entity ref of the dataset's owner (`spec.owner`), normalised. */
  owner?: string;
}

/** Who asked, for the audit log. */
export interface Actor {
  /** User or service entity ref. */
  ref: string;
}

/**
 * The engine as the REST API sees it. Implemented in `src/engine/`, consumed
 * by `src/router/`. Every method throws `@backstage/errors` classes
 * (`InputError`, `NotFoundError`, `ConflictError`) with messages a user can
 * act on.
 */
export interface MigrationService {
  /**
   * Validates the request against the storage backends, plans (dry run, no
   * writes) and stores the migration. Ends in `awaiting-approval`, or `queued`
   * when auto-approval applies.
   */
  create(
    request: CreateMigrationRequest & {
      strategy: NonNullable<CreateMigrationRequest['strategy']>;
    },
    dataset: DatasetInfo,
    actor: Actor,
  ): Promise<Migration>;
  get(id: string): Promise<Migration | undefined>;
  list(
    filter: MigrationFilter & { limit: number; offset: number },
  ): Promise<{ items: Migration[]; totalCount: number }>;
  /** The distinct datasets of the migrations `filter` matches. */
  listDatasets(filter: MigrationFilter): Promise<string[]>;
  approve(id: string, actor: Actor, reason?: string): Promise<Migration>;
  cancel(id: string, actor: Actor, reason?: string): Promise<Migration>;
  rollback(id: string, actor: Actor, reason?: string): Promise<Migration>;
  retry(id: string, actor: Actor, reason?: string): Promise<Migration>;
  listEvents(
    id: string,
    options: { after: number; limit: number },
  ): Promise<MigrationEvent[]>;
  getReport(id: string): Promise<ValidationReport | undefined>;
  getFleetStatus(): Promise<FleetStatus>;
  /**
   * The dataset's effective location (and format: a transform may have
   * changed it) after cutover, or undefined when no succeeded migration
   * moved it (then the catalog annotations apply).
   */
  getEffectiveLocation(
    datasetRef: string,
  ): Promise<{ location: string; format?: DatasetFormat } | undefined>;
  /**
   * The id of the latest succeeded migration whose cutover moved the
   * dataset to `location`, or undefined when none did.
   */
  findCutover(
    datasetRef: string,
    location: string,
  ): Promise<string | undefined>;
}

import { ResponseError } from '@backstage/errors';
import type {
  CreateMigrationRequest,
  FleetStatus,
  Migration,
  MigrationEvent,
  MigrationPlan,
  PlannedTransform,
  TransformValidation,
  ValidationReport,
} from '@internal/backstage-plugin-dataset-migration-common';
import type {
  DatasetLocationResponse,
  DatasetMigrationApi,
  ListMigrationsOptions,
} from '../api';

/** A ResponseError as the real client throws it for a Backstage error body. */
export async function apiError(
  status: number,
  name: string,
  message: string,
): Promise<ResponseError> {
  return ResponseError.fromResponse(
    new Response(
      JSON.stringify({
        error: { name, message },
        request: { method: 'GET', url: '/' },
        response: { statusCode: status },
      }),
      { status, headers: { 'content-type': 'application/json' } },
    ) as any,
  );
}

export const DATASET_REF = 'resource:default/plays';

export function makePlan(
  overrides: Partial<MigrationPlan> = {},
): MigrationPlan {
  return {
    source: {
      location: 's3://raw/plays',
      objectCount: 1234,
      totalBytes: 5 * 1024 ** 3,
    },
    target: { location: 'gs://archive/plays', format: 'csv' },
    overwrites: { count: 3, sample: ['part-0001.csv', 'part-0002.csv'] },
    consumers: ['component:default/play-stats', 'component:default/charts'],
    snapshotHash: 'abc',
    estimatedSeconds: 3725,
    warnings: ['2 objects are larger than 5 GiB'],
    createdAt: '2026-11-21T10:00:00.000Z',
    ...overrides,
  };
}

/** The plan of the example orders mapping: one column change of each kind. */
export function makeTransform(
  overrides: Partial<PlannedTransform> = {},
): PlannedTransform {
  return {
    mapping: {
      format: 'parquet',
      fields: [
        { from: 'id', to: 'order_id', cast: 'bigint' },
        { from: 'customer_id', to: 'customer' },
        { to: 'quantity', cast: 'integer' },
        { from: 'note', to: 'note', default: '' },
        { to: 'source_system', default: 'legacy-shop' },
      ],
      drop: ['customer_ip'],
      filter: [{ column: 'status', op: 'ne', value: 'cancelled' }],
      keys: ['id'],
    },
    mappingHash:
      'sha256:84ed3fd17828167ce510bd6c8140c9aeec0d5e68740de75db21fbe115841f0ac',
    mappingSource: 'entity',
    sourceFormat: 'csv',
    targetFormat: 'parquet',
    schemaFrom: 'object 2026/01.csv',
    sourceSchema: [],
    targetSchema: [],
    columns: [
      {
        source: { name: 'id', type: 'VARCHAR' },
        target: { name: 'order_id', type: 'BIGINT' },
        change: 'rename+cast',
      },
      {
        source: { name: 'customer_id', type: 'VARCHAR' },
        target: { name: 'customer', type: 'VARCHAR' },
        change: 'rename',
      },
      {
        source: { name: 'quantity', type: 'VARCHAR' },
        target: { name: 'quantity', type: 'INTEGER' },
        change: 'cast',
      },
      {
        source: { name: 'status', type: 'VARCHAR' },
        target: { name: 'status', type: 'VARCHAR' },
        change: 'keep',
      },
      {
        source: { name: 'note', type: 'VARCHAR' },
        target: { name: 'note', type: 'VARCHAR' },
        change: 'keep',
        default: '',
      },
      { source: { name: 'customer_ip', type: 'VARCHAR' }, change: 'drop' },
      {
        target: { name: 'source_system', type: 'VARCHAR' },
        change: 'add',
        default: 'legacy-shop',
      },
    ],
    objects: { transformed: 3, copied: 1 },
    ...overrides,
  };
}

/** The record-level layers of a transform that passed. */
export function makeTransformValidation(
  overrides: Partial<TransformValidation> = {},
): TransformValidation {
  return {
    mappingHash: makeTransform().mappingHash,
    rows: {
      source: 6,
      filtered: 1,
      bad: 1,
      quarantined: 1,
      expected: 4,
      target: 4,
      matches: true,
    },
    sample: { perObject: 20, compared: 4, mismatched: 0, matches: true },
    schema: {
      expected: [
        { name: 'order_id', type: 'BIGINT' },
        { name: 'customer', type: 'VARCHAR' },
      ],
      matches: true,
      mismatchedObjects: 0,
    },
    methods: [
      'Row counts: every target object was read back by DuckDB and counted.',
      'Schema: the Parquet columns and types were compared with the mapping’s target schema.',
    ],
    copiedObjects: 0,
    quarantine: 'file://targets/.dataset-migration-backups/m-1/.quarantine',
    ...overrides,
  };
}

/** A validation report of a whole migration. */
export function makeReport(
  overrides: Partial<ValidationReport> = {},
): ValidationReport {
  return {
    migrationId: 'm-1',
    passed: true,
    checkedAt: '2026-11-21T10:10:00.000Z',
    objects: { checked: 4, mismatched: 0, missing: 0 },
    manifest: {
      source: { count: 4, bytes: 4000, hash: 'sha256:a' },
      target: { count: 4, bytes: 4000, hash: 'sha256:a' },
      matches: true,
    },
    methods: { sha256: 4 },
    failures: [],
    ...overrides,
  };
}

export function makeMigration(overrides: Partial<Migration> = {}): Migration {
  return {
    id: 'm-1',
    dataset: DATASET_REF,
    source: { location: 's3://raw/plays', format: 'csv' },
    target: { location: 'gs://archive/plays', format: 'csv' },
    strategy: 'bulk-copy',
    state: 'running',
    step: 'copy',
    plan: makePlan(),
    progress: {
      totalItems: 200,
      doneItems: 50,
      failedItems: 0,
      totalBytes: 4000,
      doneBytes: 3000,
    },
    createdBy: 'user:default/ada',
    createdAt: '2026-11-21T10:00:00.000Z',
    updatedAt: '2026-11-21T10:05:00.000Z',
    ...overrides,
  };
}

/** One audit-log / live-log line of migration `m-1`. */
export function makeEvent(
  overrides: Partial<MigrationEvent> & { id: number },
): MigrationEvent {
  return {
    migrationId: 'm-1',
    type: 'log',
    level: 'info',
    message: `event ${overrides.id}`,
    createdAt: '2026-11-21T10:00:00.000Z',
    ...overrides,
  };
}

type Call = { method: string; args: unknown[] };

/**
 * In-memory stand-in for the REST API. Tests script its answers through the
 * public fields and read back `calls`.
 */
export class FakeDatasetMigrationApi implements DatasetMigrationApi {
  calls: Call[] = [];
  migrations: Migration[] = [];
  events: MigrationEvent[] = [];
  reports = new Map<string, ValidationReport>();
  location: DatasetLocationResponse = {
    entityRef: DATASET_REF,
    location: 's3://raw/plays',
  };
  fleet: FleetStatus = {
    queueDepth: 0,
    inFlight: 0,
    workers: [],
    migrations: {},
    throughput: { itemsPerMinute: 0, bytesPerMinute: 0 },
    errors: { retried: 0, failed: 0, attempts: 0, rate: 0 },
  };
  /** When set, the next createMigration rejects with it. */
  createError?: Error;
  /** Answer of createMigration. */
  created: Migration = makeMigration({
    id: 'm-new',
    state: 'awaiting-approval',
    step: undefined,
    progress: {
      totalItems: 0,
      doneItems: 0,
      failedItems: 0,
      totalBytes: 0,
      doneBytes: 0,
    },
  });

  private record(method: string, ...args: unknown[]) {
    this.calls.push({ method, args });
  }

  callsTo(method: keyof DatasetMigrationApi): Call[] {
    return this.calls.filter(c => c.method === method);
  }

  private find(id: string): Migration {
    const found = this.migrations.find(m => m.id === id);
    if (!found) {
      throw new Error(`fake: no migration ${id}`);
    }
    return found;
  }

  private setState(id: string, state: Migration['state']): Migration {
    const updated = { ...this.find(id), state };
    this.migrations = this.migrations.map(m => (m.id === id ? updated : m));
    return updated;
  }

  async createMigration(request: CreateMigrationRequest) {
    this.record('createMigration', request);
    if (this.createError) {
      throw this.createError;
    }
    this.migrations = [...this.migrations, this.created];
    return this.created;
  }
  async listMigrations(options?: ListMigrationsOptions) {
    this.record('listMigrations', options);
    const items = this.migrations.filter(
      m =>
        (!options?.dataset || m.dataset === options.dataset) &&
        (!options?.state || m.state === options.state) &&
        (!options?.owner || m.datasetOwner === options.owner),
    );
    return { items, totalCount: items.length };
  }
  async getMigration(id: string) {
    this.record('getMigration', id);
    if (!this.migrations.some(m => m.id === id)) {
      // What the backend answers for an unknown id.
      throw await apiError(
        404,
        'NotFoundError',
        `Migration '${id}' does not exist`,
      );
    }
    return this.find(id);
  }
  async listEvents(id: string, options?: { after?: number; limit?: number }) {
    this.record('listEvents', id, options);
    const after = options?.after ?? 0;
    return {
      items: this.events
        .filter(e => e.migrationId === id && e.id > after)
        .slice(0, options?.limit ?? this.events.length),
    };
  }
  async getReport(id: string) {
    this.record('getReport', id);
    return this.reports.get(id);
  }
  async approveMigration(id: string, reason?: string) {
    this.record('approveMigration', id, reason);
    return this.setState(id, 'queued');
  }
  async cancelMigration(id: string, reason?: string) {
    this.record('cancelMigration', id, reason);
    return this.setState(id, 'cancelled');
  }
  async rollbackMigration(id: string, reason?: string) {
    this.record('rollbackMigration', id, reason);
    return this.setState(id, 'rolling-back');
  }
  async retryMigration(id: string, reason?: string) {
    this.record('retryMigration', id, reason);
    return this.setState(id, 'queued');
  }
  async getFleetStatus() {
    this.record('getFleetStatus');
    return this.fleet;
  }
  async getDatasetLocation(entityRef: string) {
    this.record('getDatasetLocation', entityRef);
    return this.location;
  }
}

import { Knex } from 'knex';
import type { ValidationReport } from '@internal/backstage-plugin-dataset-migration-common';
import { DbBigInt, DbBoolean, DbJson, DbWrite } from './rowValues';

/** A `dm_validation_reports` row as the database returns it. */
export interface DbValidationReportRow {
  migration_id: string;
  /** Also inside `report`; a column so it can be queried. */
  passed: DbBoolean;
  /** The whole {@link ValidationReport}. */
  report: DbJson;
  created_at: DbBigInt;
}

/** `dm_validation_reports`: the latest validation report of a migration. */
export class ReportStore {
  constructor(private readonly knex: Knex) {}

  /** Stores the report, replacing an earlier one of the same migration. */
  async put(report: ValidationReport): Promise<void> {
    const row: DbWrite<DbValidationReportRow> = {
      migration_id: report.migrationId,
      passed: report.passed,
      report: JSON.stringify(report),
      created_at: Date.now(),
    };
    await this.knex('dm_validation_reports')
      .insert(row)
      .onConflict('migration_id')
      .merge();
  }

  async get(migrationId: string): Promise<ValidationReport | undefined> {
    const row: DbValidationReportRow | undefined = await this.knex(
      'dm_validation_reports',
    )
      .where('migration_id', migrationId)
      .first();
    return row ? JSON.parse(row.report) : undefined;
  }
}

import { Knex } from 'knex';
import type { ValidationReport } from '@internal/backstage-plugin-dataset-migration-common';

export class ReportStore {
  constructor(private readonly knex: Knex) {}

  async put(report: ValidationReport): Promise<void> {
    await this.knex('dm_validation_reports')
      .insert({
        migration_id: report.migrationId,
        passed: report.passed,
        report: JSON.stringify(report),
        created_at: Date.now(),
      })
      .onConflict('migration_id')
      .merge();
  }

  async get(migrationId: string): Promise<ValidationReport | undefined> {
    const row = await this.knex('dm_validation_reports')
      .where('migration_id', migrationId)
      .first();
    return row ? JSON.parse(row.report) : undefined;
  }
}

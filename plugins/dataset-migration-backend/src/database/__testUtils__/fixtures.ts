import { Knex } from 'knex';
import type { MigrationRow } from '../migrationRows';

const migrationsDir = `${__dirname}/../../../migrations`;

/** Applies the plugin's schema to a fresh test database. */
export async function migrateLatest(knex: Knex): Promise<Knex> {
  await knex.migrate.latest({ directory: migrationsDir });
  return knex;
}

/** A migration row with test defaults; `overrides` set what a test needs. */
export function migrationRow(
  id: string,
  overrides: Partial<MigrationRow> = {},
): MigrationRow {
  return {
    id,
    dataset: 'resource:default/plays',
    sourceLocation: 'file:///data/src',
    targetLocation: 'file:///data/dst',
    strategy: 'bulk-copy',
    options: {},
    state: 'running',
    phase: 'copy',
    createdBy: 'user:default/tester',
    createdAt: 1_000,
    updatedAt: 1_000,
    ...overrides,
  };
}

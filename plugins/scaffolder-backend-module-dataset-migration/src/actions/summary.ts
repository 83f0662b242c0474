import type { MigrationPlan } from '@internal/backstage-plugin-dataset-migration-common';

/** The part of a plan a template author can act on. */
export function summarizePlan(plan: MigrationPlan) {
  return {
    objects: plan.source.objectCount,
    bytes: plan.source.totalBytes,
    overwrites: plan.overwrites.count,
    consumers: [...plan.consumers],
    estimatedSeconds: plan.estimatedSeconds,
  };
}

/** Route of the migrations page in the Backstage frontend. */
export const MIGRATIONS_PAGE_PATH = '/dataset-migrations';

export function migrationUrl(appBaseUrl: string, migrationId?: string) {
  const base = `${appBaseUrl.replace(/\/+$/, '')}${MIGRATIONS_PAGE_PATH}`;
  return migrationId ? `${base}/${encodeURIComponent(migrationId)}` : base;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 90) {
    return `${Math.round(seconds)} s`;
  }
  if (seconds < 90 * 60) {
    return `${Math.round(seconds / 60)} min`;
  }
  return `${(seconds / 3600).toFixed(1)} h`;
}

function plural(count: number, noun: string) {
  return `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`;
}

/** One paragraph for the task log: what was created and what it will do. */
export function describeMigration(
  migration: {
    id: string;
    state: string;
    dataset: string;
    strategy: string;
    targetLocation: string;
    plan: ReturnType<typeof summarizePlan> | null;
  },
  url: string,
): string {
  const lines = [
    `Created ${migration.strategy} migration ${migration.id} of ${migration.dataset} to ${migration.targetLocation}; state: ${migration.state}.`,
  ];
  const { plan } = migration;
  if (plan) {
    lines.push(
      `Plan: ${plural(plan.objects, 'object')}, ${formatBytes(
        plan.bytes,
      )}, estimated ${formatDuration(plan.estimatedSeconds)}.`,
      plan.overwrites > 0
        ? `${plural(
            plan.overwrites,
            'existing target object',
          )} will be overwritten (backed up first, restored on rollback).`
        : 'No existing target object will be overwritten.',
      plan.consumers.length > 0
        ? `${plural(
            plan.consumers.length,
            'consumer',
          )} to notify: ${plan.consumers.join(', ')}.`
        : 'No consumers depend on this dataset.',
    );
  }
  if (migration.state === 'awaiting-approval') {
    lines.push(`Review and approve it at ${url}`);
  } else {
    lines.push(`Follow it at ${url}`);
  }
  return lines.join(' ');
}

import {
  type CompoundEntityRef,
  DEFAULT_NAMESPACE,
  parseEntityRef,
} from '@backstage/catalog-model';
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

/** Route of the catalog's entity pages (`/catalog/:namespace/:kind/:name`). */
export const CATALOG_PAGE_PATH = '/catalog';

/**
 * Path of a migration's page (or of the migrations page) inside the app.
 * Template output links take it as is: the frontend routes a path in the
 * app, where it would open an absolute URL in a new tab.
 */
export function migrationPath(migrationId?: string) {
  return migrationId
    ? `${MIGRATIONS_PAGE_PATH}/${encodeURIComponent(migrationId)}`
    : MIGRATIONS_PAGE_PATH;
}

export function migrationUrl(appBaseUrl: string, migrationId?: string) {
  return `${appBaseUrl.replace(/\/+$/, '')}${migrationPath(migrationId)}`;
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

export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

function plural(count: number, noun: string) {
  return `${formatCount(count)} ${noun}${count === 1 ? '' : 's'}`;
}

/** What the create action knows about the migration it created. */
export interface CreatedMigration {
  id: string;
  state: string;
  dataset: string;
  strategy: string;
  targetLocation: string;
  plan: ReturnType<typeof summarizePlan> | null;
}

/** One paragraph for the task log: what was created and what it will do. */
export function describeMigration(
  migration: CreatedMigration,
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

/** Markdown inline code that survives backticks in the text. */
function code(text: string): string {
  const longestRun = Math.max(
    0,
    ...[...text.matchAll(/`+/g)].map(match => match[0].length),
  );
  const fence = '`'.repeat(longestRun + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** Escapes what Markdown (and a GFM table cell) would otherwise interpret. */
function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]()<>|#!~]/g, '\\$&');
}

/**
 * `component:charts` for `component:default/charts`, like the catalog's own
 * `humanizeEntityRef`: the default namespace is left out.
 */
export function humanizeEntityRef(ref: string): string {
  try {
    const { kind, namespace, name } = parseEntityRef(ref);
    const kindPart = kind.toLocaleLowerCase('en-US');
    return namespace === DEFAULT_NAMESPACE
      ? `${kindPart}:${name}`
      : `${kindPart}:${namespace}/${name}`;
  } catch {
    return ref;
  }
}

/** A Markdown link to the entity's catalog page, named readably. */
export function entityLink(ref: string): string {
  let parsed: CompoundEntityRef;
  try {
    parsed = parseEntityRef(ref);
  } catch {
    return code(ref);
  }
  const path = [
    CATALOG_PAGE_PATH,
    encodeURIComponent(parsed.namespace.toLocaleLowerCase('en-US')),
    encodeURIComponent(parsed.kind.toLocaleLowerCase('en-US')),
    encodeURIComponent(parsed.name),
  ].join('/');
  return `[${escapeMarkdown(humanizeEntityRef(ref))}](${path})`;
}

/** `awaiting-approval` → `awaiting approval`. */
function humanizeState(state: string): string {
  return state.replace(/-/g, ' ');
}

/**
 * The task's result page text (Markdown): sizes in human units, counts with
 * separators and consumers as links to their catalog pages.
 *
 * @param path - the migration's page, from {@link migrationPath}
 */
export function describeMigrationMarkdown(
  migration: CreatedMigration,
  path: string,
): string {
  const lines = [
    `Migration [${code(migration.id)}](${path}) of ${entityLink(
      migration.dataset,
    )} to ${code(migration.targetLocation)} is **${humanizeState(
      migration.state,
    )}**.`,
  ];
  const { plan } = migration;
  if (plan) {
    const consumers = plan.consumers.map(entityLink).join(', ') || 'none';
    lines.push(
      '',
      '| Plan | |',
      '|---|---|',
      `| Strategy | ${migration.strategy} |`,
      `| Objects | ${formatCount(plan.objects)} |`,
      `| Size | ${formatBytes(plan.bytes)} |`,
      `| Estimated time | ${formatDuration(plan.estimatedSeconds)} |`,
      `| Existing target objects overwritten (backed up first) | ${formatCount(
        plan.overwrites,
      )} |`,
      `| Consumers to notify | ${consumers} |`,
    );
  } else {
    lines.push('', 'The plan is not ready yet; it will appear on its page.');
  }
  if (migration.state === 'awaiting-approval') {
    lines.push(
      '',
      `Nothing is written until it is approved on [its page](${path}).`,
    );
  }
  return lines.join('\n');
}

/** The result page text of a dry run, which creates nothing. */
export function describeDryRunMarkdown(request: {
  dataset: string;
  strategy?: string;
  target: { location: string };
}): string {
  const strategy = request.strategy ? `${request.strategy} ` : '';
  return `Dry run: would plan a ${strategy}migration of ${entityLink(
    request.dataset,
  )} to ${code(request.target.location)}. Nothing was created.`;
}

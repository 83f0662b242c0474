import { NotFoundError } from '@backstage/errors';
import type {
  PlannedTransform,
  ValidationReport,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { MigrationRow } from '../database/MigrationStore';
import type { WorkItemStore } from '../database/WorkItemStore';
import { createHash } from 'node:crypto';
import { sha256Of } from './checksums';
import type { EngineContext, StoreCache } from './context';
import { ItemContext } from './itemContext';
import { QUARANTINE_FOLDER, validateTransformedItem } from './transform';
import { describeTransformLayers, TransformTally } from './transformReport';

/**
 * Re-reads one target object and compares its sha256 with the source's, as
 * hashed during the copy (or re-read now when a server-side copy gave none).
 */
export async function validateItem(ctx: ItemContext): Promise<void> {
  if (ctx.transform) {
    await validateTransformedItem(ctx);
    return;
  }
  const { item, source, target, signal } = ctx;
  let sourceSha256 = item.sourceSha256;
  if (!sourceSha256) {
    sourceSha256 = (await sha256Of(await source.read(item.key), signal)).sha256;
  }
  let actual: { sha256: string; size: number } | undefined;
  try {
    actual = await sha256Of(await target.read(item.key), signal);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  let problem: string | null = null;
  if (!actual) {
    problem = 'missing in target';
  } else if (actual.size !== item.size) {
    problem = `size ${actual.size} differs from source size ${item.size}`;
  } else if (actual.sha256 !== sourceSha256) {
    problem = `sha256 ${actual.sha256} differs from source sha256 ${sourceSha256}`;
  }
  await ctx.save({
    state: 'done',
    sourceSha256,
    targetSha256: actual?.sha256 ?? null,
    targetSize: actual?.size ?? null,
    problem,
  });
}

const MAX_FAILURES = 100;

/** Running sha256 over lines fed in key order. */
class ManifestDigest {
  private readonly hash = createHash('sha256');
  count = 0;
  bytes = 0;
  add(line: string, size: number) {
    this.hash.update(`${line}\n`);
    this.count += 1;
    this.bytes += size;
  }
  summary() {
    return {
      count: this.count,
      bytes: this.bytes,
      hash: `sha256:${this.hash.digest('hex')}`,
    };
  }
}

/**
 * Builds the report from the per-object results: object checks plus a
 * manifest (count, bytes, hash of the key-sorted key+sha256 lines) of each
 * side.
 */
export async function buildReport(
  migrationId: string,
  items: WorkItemStore,
  transform?: { plan: PlannedTransform; quarantine?: string },
): Promise<ValidationReport> {
  const tally = transform ? new TransformTally() : undefined;
  const source = new ManifestDigest();
  const target = new ManifestDigest();
  const report: ValidationReport = {
    migrationId,
    passed: false,
    checkedAt: new Date().toISOString(),
    objects: { checked: 0, mismatched: 0, missing: 0 },
    manifest: {
      source: { count: 0, bytes: 0, hash: '' },
      target: { count: 0, bytes: 0, hash: '' },
      matches: false,
    },
    methods: {},
    failures: [],
  };
  for await (const item of items.iterateByKey(migrationId)) {
    report.objects.checked += 1;
    tally?.add(item);
    const output = item.transformStats?.output;
    let method = item.copyMethod === 'server-side' ? 'reread-sha256' : 'sha256';
    if (output) method = 'transform';
    report.methods[method] = (report.methods[method] ?? 0) + 1;
    // A transformed object is expected to hold exactly what the transform
    // wrote: the manifest's source side lists that output.
    const key = output?.key ?? item.key;
    source.add(
      `${key}\u0000${output?.sha256 ?? item.sourceSha256 ?? ''}`,
      output?.size ?? item.size,
    );
    if (item.targetSha256 !== undefined && item.targetSize !== undefined) {
      target.add(`${key}\u0000${item.targetSha256}`, item.targetSize);
    }
    if (item.problem) {
      if (item.targetSha256 === undefined) report.objects.missing += 1;
      else report.objects.mismatched += 1;
      if (report.failures.length < MAX_FAILURES) {
        report.failures.push({ key: item.key, problem: item.problem });
      }
    }
  }
  const s = source.summary();
  const t = target.summary();
  report.manifest.source = s;
  report.manifest.target = t;
  report.manifest.matches =
    s.count === t.count && s.bytes === t.bytes && s.hash === t.hash;
  if (tally && transform) {
    report.transform = tally.result(transform.plan, transform.quarantine);
  }
  report.passed =
    report.manifest.matches &&
    (!report.transform ||
      (report.transform.rows.matches &&
        report.transform.sample.matches &&
        report.transform.schema.matches)) &&
    report.objects.mismatched === 0 &&
    report.objects.missing === 0;
  return report;
}

/** The `validation-report` event's message: the verdict and its numbers. */
function describeReport(report: ValidationReport): string {
  const verdict = report.passed
    ? `Validation passed: ${report.objects.checked} objects, manifest matches`
    : `Validation failed: ${report.objects.mismatched} mismatched, ${
        report.objects.missing
      } missing, manifest ${report.manifest.matches ? 'matches' : 'differs'}`;
  return `${verdict}${
    report.transform ? `; ${describeTransformLayers(report)}` : ''
  }`;
}

/**
 * The end of the validate step, once no validate item is pending or running:
 * a failed item fails the migration; otherwise the report is built, stored
 * and logged as a `validation-report` event, and a report that did not pass
 * fails the migration. Returns true when validation passed, false while
 * items are still being validated.
 */
export async function finishValidation(
  ctx: EngineContext,
  cache: StoreCache,
  m: MigrationRow,
): Promise<boolean> {
  const { stores } = ctx;
  const counts = await stores.items.stageCounts(m.id, 'validate');
  if (counts.pending + counts.running > 0) return false;
  if (counts.failed > 0) {
    const [first] = await stores.items.firstFailures(m.id, 1);
    throw new Error(
      `${counts.failed} object(s) could not be validated; first: '${first?.key}': ${first?.lastError}`,
    );
  }
  const planned = m.plan?.transform;
  const report = await buildReport(
    m.id,
    stores.items,
    planned && {
      plan: planned,
      quarantine:
        planned.mapping.badRows === 'quarantine'
          ? `${(await cache.get(m)).backups.location.uri}/${QUARANTINE_FOLDER}`
          : undefined,
    },
  );
  ctx.assertAlive();
  await stores.reports.put(report);
  await stores.events.append({
    migrationId: m.id,
    type: 'validation-report',
    level: report.passed ? 'info' : 'error',
    message: describeReport(report),
    details: {
      objects: report.objects,
      manifestMatches: report.manifest.matches,
    },
  });
  if (!report.passed) {
    const first = report.failures[0];
    throw new Error(
      `Validation failed: ${report.objects.mismatched} object(s) differ and ${
        report.objects.missing
      } are missing in the target${
        first ? `; first: '${first.key}': ${first.problem}` : ''
      }`,
    );
  }
  return true;
}

import { createHash } from 'node:crypto';
import type {
  ChecksumAlgorithm,
  PlannedTransform,
  ValidationReport,
  ValidationVerify,
  VerifyMode,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { MigrationRow } from '../database/MigrationStore';
import type { WorkItem, WorkItemStore } from '../database/WorkItemStore';
import type { EngineContext, StoreCache } from './context';
import { QUARANTINE_FOLDER } from './transform';
import { describeTransformLayers, TransformTally } from './transformReport';
import { sourceChecksums } from './verifyMode';

/** The validation report: the items' results added up, stored and announced. */

const MAX_FAILURES = 100;

/** How a re-read object's sha256 was compared, by how it was copied. */
const SHA256_LABELS: Record<string, string> = {
  // The source was re-read too: a server-side copy hashed nothing.
  'server-side': 'reread-sha256',
  // Part by part: a copy in parts has no sha256 of the whole object.
  parts: 'sha256-of-parts',
};

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
 * What one item adds to the report: the method label of `report.methods` and
 * its manifest lines. An object verified by checksum is listed on both sides
 * with the checksum compared, one verified by size alone with `size`.
 */
function describeItem(item: WorkItem, method: VerifyMode) {
  const output = item.transformStats?.output;
  if (output) {
    return {
      label: 'transform',
      key: output.key,
      source: output.sha256,
      target: item.targetSha256,
    };
  }
  if (method === 'checksum') {
    const [algorithm] = (item.targetChecksum?.split(':') ?? []) as [
      ChecksumAlgorithm?,
    ];
    return {
      label: algorithm ? `checksum-${algorithm}` : 'checksum',
      key: item.key,
      source: algorithm
        ? `${algorithm}:${sourceChecksums(item)[algorithm] ?? ''}`
        : '',
      target: item.targetChecksum,
    };
  }
  if (method === 'none') {
    return {
      label: 'size',
      key: item.key,
      source: 'size',
      target: item.targetSize === undefined ? undefined : 'size',
    };
  }
  return {
    label: SHA256_LABELS[item.copyMethod ?? ''] ?? 'sha256',
    key: item.key,
    source: item.sourceSha256 ?? '',
    target: item.targetSha256,
  };
}

/**
 * Builds the report from the per-object results: object checks, how each
 * was verified, plus a manifest (count, bytes, hash of the key-sorted
 * key+checksum lines) of each side.
 */
export async function buildReport(
  migrationId: string,
  items: WorkItemStore,
  transform?: { plan: PlannedTransform; quarantine?: string },
  mode?: VerifyMode,
): Promise<ValidationReport> {
  const tally = transform ? new TransformTally() : undefined;
  const source = new ManifestDigest();
  const target = new ManifestDigest();
  const verify: ValidationVerify = {
    mode: mode ?? 'auto',
    methods: { checksum: 0, full: 0, none: 0 },
    fellBackToFull: [],
  };
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
    verify,
    failures: [],
  };
  for await (const item of items.iterateByKey(migrationId)) {
    report.objects.checked += 1;
    tally?.add(item);
    // Items validated before verify modes existed were all re-read.
    const method = item.verifyMethod ?? 'full';
    verify.methods[method] += 1;
    const line = describeItem(item, method);
    report.methods[line.label] = (report.methods[line.label] ?? 0) + 1;
    if (
      method === 'full' &&
      line.label !== 'transform' &&
      verify.mode !== 'full' &&
      verify.fellBackToFull.length < MAX_FAILURES
    ) {
      verify.fellBackToFull.push(item.key);
    }
    // A transformed object is expected to hold exactly what the transform
    // wrote: the manifest's source side lists that output.
    const output = item.transformStats?.output;
    source.add(`${line.key}\u0000${line.source}`, output?.size ?? item.size);
    if (line.target !== undefined && item.targetSize !== undefined) {
      target.add(`${line.key}\u0000${line.target}`, item.targetSize);
    }
    if (item.problem) {
      if (item.targetSize === undefined) report.objects.missing += 1;
      else report.objects.mismatched += 1;
      if (report.failures.length < MAX_FAILURES) {
        report.failures.push({
          key: item.key,
          problem: item.problem,
          method,
        });
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
  const v = report.verify?.methods;
  const ways = v
    ? ` (verified ${[
        v.checksum && `${v.checksum} by checksum`,
        v.full && `${v.full} by re-reading`,
        v.none && `${v.none} by size only`,
      ]
        .filter(Boolean)
        .join(', ')})`
    : '';
  return `${verdict}${report.objects.checked > 0 ? ways : ''}${
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
    m.options.verify,
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
      verify: report.verify?.methods,
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

import { NotFoundError } from '@backstage/errors';
import type {
  PlannedTransform,
  ValidationReport,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { WorkItemStore } from '../database/WorkItemStore';
import { createHash } from 'node:crypto';
import { sha256Of } from './checksums';
import { ItemContext } from './itemContext';
import { validateTransformedItem } from './transformItem';
import { TransformTally } from './transformReport';

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

import type {
  PlannedTransform,
  TransformValidation,
  ValidationReport,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { WorkItem } from '../database/WorkItemStore';
import { DEFAULT_SAMPLE_SIZE } from './transform';

const MAX_BAD_ROW_OBJECTS = 100;

/** Adds up the per-object transform results into the report's layers. */
export class TransformTally {
  private readonly rows = {
    source: 0,
    filtered: 0,
    bad: 0,
    quarantined: 0,
    expected: 0,
    target: 0,
  };
  private readonly sample = { compared: 0, mismatched: 0 };
  private schemaMismatched = 0;
  private rowsMismatched = 0;
  private copied = 0;
  /** Objects transformed in parts (engine/transformParts.ts). */
  private inParts = 0;
  private readonly badRows: NonNullable<TransformValidation['badRows']> = [];

  add(item: WorkItem) {
    const stats = item.transformStats;
    if (!stats) {
      this.copied += 1;
      return;
    }
    if (stats.bad > 0 && this.badRows.length < MAX_BAD_ROW_OBJECTS) {
      this.badRows.push({
        key: item.key,
        count: stats.bad,
        rows: stats.badRows.map(r => r.row),
      });
    }
    if ((stats.parts ?? 1) > 1) this.inParts += 1;
    const expected = stats.sourceRows - stats.filtered - stats.bad;
    this.rows.source += stats.sourceRows;
    this.rows.filtered += stats.filtered;
    this.rows.bad += stats.bad;
    this.rows.quarantined += stats.quarantined;
    this.rows.expected += expected;
    const check = stats.check;
    if (!check || check.schemaProblem) {
      // Not read back (missing, checksum differs) or the wrong schema.
      if (check?.schemaProblem) this.schemaMismatched += 1;
      this.rowsMismatched += 1;
      this.sample.compared += stats.sample.records.length;
      this.sample.mismatched += stats.sample.records.length;
      return;
    }
    this.rows.target += check.rows;
    if (check.rows !== expected || check.unreadable > 0)
      this.rowsMismatched += 1;
    this.sample.compared += check.sample.compared;
    this.sample.mismatched += check.sample.mismatched;
  }

  result(
    transform: PlannedTransform,
    quarantine: string | undefined,
  ): TransformValidation {
    const { mapping, sourceFormat, targetFormat } = transform;
    const perObject = mapping.sampleSize ?? DEFAULT_SAMPLE_SIZE;
    const keys = mapping.keys?.length
      ? `key (${mapping.keys.join(', ')})`
      : 'whole record (no keys in the mapping)';
    return {
      mappingHash: transform.mappingHash,
      rows: {
        ...this.rows,
        matches:
          this.rowsMismatched === 0 && this.rows.target === this.rows.expected,
      },
      sample: {
        perObject,
        ...this.sample,
        matches: this.sample.mismatched === 0,
      },
      schema: {
        expected: transform.targetSchema,
        matches: this.schemaMismatched === 0,
        mismatchedObjects: this.schemaMismatched,
      },
      methods: [
        `Checksums: every transformed object was re-read from the target and its sha256 compared with the sha256 of the ${targetFormat} file the transform wrote.`,
        `Row counts: every target object was read back by DuckDB and counted; it must hold the rows read from the ${sourceFormat} source minus those the filter left out and the bad rows.`,
        `Sampled records: per object, the ${perObject} mapped source records with the smallest hash of the ${keys} were looked up in the target by that hash and compared field by field (both sides cast to the target type, then to text).`,
        targetFormat === 'parquet'
          ? 'Schema: the Parquet columns and types were compared with the mapping’s target schema.'
          : `Schema: the ${targetFormat} columns were compared with the mapping’s target schema, and every value read back with its target type (a value the type cannot hold fails).`,
        ...(this.inParts > 0
          ? [
              `${this.inParts} large object(s) were transformed in parts cut at record ends and assembled into one target object: their row counts are the parts' added up, their bad rows are numbered in the whole object, and their sampled records are the ${perObject} with the smallest hash of the ${keys} among the parts' samples.`,
            ]
          : []),
        ...(this.copied > 0
          ? [
              `${this.copied} object(s) not in ${sourceFormat} were copied as they are and compared by sha256.`,
            ]
          : []),
      ],
      copiedObjects: this.copied,
      badRows: this.badRows,
      ...(quarantine && { quarantine }),
    };
  }
}

/** One line for the event log: each layer and whether it held. */
export function describeTransformLayers(report: ValidationReport): string {
  const t = report.transform!;
  const ok = (b: boolean) => (b ? 'match' : 'DIFFER');
  return `rows ${t.rows.target}/${t.rows.expected} ${ok(
    t.rows.matches,
  )} (read ${t.rows.source}, filtered ${t.rows.filtered}, bad ${t.rows.bad}); ${
    t.sample.compared
  } sampled records ${ok(t.sample.matches)}${
    t.sample.mismatched ? ` (${t.sample.mismatched} differ)` : ''
  }; schema ${ok(t.schema.matches)}${
    t.badRows?.length
      ? `; bad rows in ${t.badRows
          .slice(0, 3)
          .map(b => `'${b.key}' (rows ${b.rows.join(', ')})`)
          .join(', ')}${t.badRows.length > 3 ? ', …' : ''}`
      : ''
  }`;
}

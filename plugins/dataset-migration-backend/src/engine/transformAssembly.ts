import fs from 'node:fs';
import { createHash } from 'node:crypto';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import {
  HashingStream,
  type ObjectStore,
} from '@internal/backstage-plugin-dataset-migration-node';
import type { SchemaColumn } from '@internal/backstage-plugin-dataset-migration-common';
import type { ItemTransformStats } from '../database/WorkItemStore';
import {
  planParquetConcat,
  type ParquetConcatPlan,
} from '../transform/parquetConcat';
import { createSpillArea, localStoreOf } from '../transform/spill';
import type { TransformFileResult } from '../transform/transformFile';
import { ItemContext, writeHashed } from './itemContext';
import { DEFAULT_SAMPLE_SIZE, quarantineKey } from './transform';

/** What a transformed part recorded (`dm_parts.result`). */
export interface PartOutcome extends TransformFileResult {
  number: number;
  /** Its output's key in the backup area, its size and sha256. */
  staged: string;
  size: number;
  sha256: string;
  /** Its quarantined rows' key in the backup area, if any. */
  quarantine?: string;
  /** A Parquet output's footer (base64), for the assembly. */
  footer?: string;
}

type Piece = ParquetConcatPlan['pieces'][number];

/**
 * The target object from the parts' staged outputs, streamed in order by
 * ranged reads: CSV and NDJSON outputs end with a newline and only the
 * first has a header, so they are concatenated; Parquet outputs' row
 * groups are concatenated byte for byte under one footer whose offsets are
 * shifted (parquetConcat.ts), so no value is decoded again.
 */
function piecesOf(format: string, outcomes: PartOutcome[]): Piece[] {
  if (format === 'parquet') {
    return planParquetConcat(
      outcomes.map(o => ({
        size: o.size,
        footer: Buffer.from(o.footer ?? '', 'base64'),
      })),
    ).pieces;
  }
  return outcomes.flatMap((o, part) =>
    o.size > 0 ? [{ part, start: 0, end: o.size }] : [],
  );
}

async function* readPieces(
  backups: ObjectStore,
  outcomes: PartOutcome[],
  pieces: Piece[],
): AsyncGenerator<Buffer> {
  for (const piece of pieces) {
    if ('bytes' in piece) {
      yield piece.bytes;
      continue;
    }
    const body = await backups.read(outcomes[piece.part].staged, {
      start: piece.start,
      end: piece.end - 1,
    });
    yield* body as AsyncIterable<Buffer>;
  }
}

function piecesSize(pieces: Piece[]) {
  return pieces.reduce(
    (n, p) => n + ('bytes' in p ? p.bytes.length : p.end - p.start),
    0,
  );
}

/**
 * Assembles a transformed-in-parts object into its target key (on a local
 * target through a temp file renamed into place), its quarantined rows into
 * the backup area's quarantine key, and returns the object's stats: the
 * parts' counts added up, bad rows numbered in the whole object, and the
 * sample drawn from the parts' samples.
 */
export async function assembleParts(
  ctx: ItemContext,
  outcomes: PartOutcome[],
): Promise<ItemTransformStats> {
  const { target, backups, targetKey, signal } = ctx;
  const transform = ctx.transform!;
  const pieces = piecesOf(transform.targetFormat, outcomes);
  const size = piecesSize(pieces);
  const body = () => Readable.from(readPieces(backups, outcomes, pieces));
  let written: { size: number; sha256: string };
  const local = localStoreOf(target);
  if (local) {
    const hashing = new HashingStream(['sha256']);
    await local.writeFile(targetKey, temp =>
      pipeline(body(), hashing, fs.createWriteStream(temp), { signal }),
    );
    written = { size: hashing.byteCount, sha256: hashing.digests().sha256! };
  } else {
    written = await writeHashed(target, targetKey, body(), {
      size,
      signal,
      extra: [],
    });
  }
  if (written.size !== size) {
    throw new Error(
      `Assembled '${targetKey}' from ${outcomes.length} parts: wrote ${written.size} bytes, expected ${size}`,
    );
  }
  await mergeQuarantine(ctx, outcomes);
  return {
    ...mergeOutcomes(
      outcomes,
      transform.targetSchema,
      transform.mapping.sampleSize ?? DEFAULT_SAMPLE_SIZE,
    ),
    output: { key: targetKey, sha256: written.sha256, size },
    parts: outcomes.length,
  };
}

/**
 * The parts' counts added up; bad rows renumbered in the whole object (each
 * part's shifted by the rows of the parts before it), the first five kept;
 * the sample: the `n` records of the parts' samples whose key values (or
 * whole records, without declared keys) hash smallest.
 */
export function mergeOutcomes(
  outcomes: PartOutcome[],
  targetSchema: SchemaColumn[],
  n: number,
): Omit<ItemTransformStats, 'output'> {
  const sum = (f: (o: PartOutcome) => number) =>
    outcomes.reduce((total, o) => total + f(o), 0);
  const badRows: ItemTransformStats['badRows'] = [];
  let before = 0;
  for (const o of outcomes) {
    for (const r of o.badRows) {
      if (badRows.length < 5) badRows.push({ ...r, row: r.row + before });
    }
    before += o.sourceRows;
  }
  const keyColumns = outcomes[0]?.sample.keyColumns ?? [];
  const at = keyColumns.map(k => targetSchema.findIndex(c => c.name === k));
  const byKey = at.length > 0 && at.every(i => i >= 0);
  const ranked = outcomes
    .flatMap(o => o.sample.records)
    .map(record => ({
      record,
      rank: createHash('sha256')
        .update(
          JSON.stringify(byKey ? at.map(i => record.values[i]) : record.values),
        )
        .digest('hex'),
    }))
    .sort((a, b) => a.rank.localeCompare(b.rank));
  return {
    sourceRows: sum(o => o.sourceRows),
    filtered: sum(o => o.filtered),
    bad: sum(o => o.bad),
    quarantined: sum(o => o.quarantined),
    written: sum(o => o.written),
    badRows,
    sample: { keyColumns, records: ranked.slice(0, n).map(r => r.record) },
  };
}

/** A quarantined row's line starts with its row number (transformFile.ts). */
const ROW = /^\{"__dm_row":(\d+)/;

/**
 * The parts' quarantined rows as one NDJSON file under the object's
 * quarantine key, their row numbers counted in the whole object.
 */
async function mergeQuarantine(ctx: ItemContext, outcomes: PartOutcome[]) {
  if (!outcomes.some(o => o.quarantine)) return;
  const { backups, item, signal } = ctx;
  const spill = await createSpillArea(ctx.transforms.spillBase);
  try {
    const file = spill.file('quarantine.ndjson');
    const out = fs.createWriteStream(file);
    let before = 0;
    for (const o of outcomes) {
      if (o.quarantine) {
        const lines = readline.createInterface({
          input: await backups.read(o.quarantine),
          crlfDelay: Infinity,
        });
        const shift = before;
        for await (const line of lines) {
          signal.throwIfAborted();
          const shifted = line.replace(
            ROW,
            (_, row) => `{"__dm_row":${Number(row) + shift}`,
          );
          if (!out.write(`${shifted}\n`)) await once(out, 'drain');
        }
      }
      before += o.sourceRows;
    }
    out.end();
    await once(out, 'finish');
    const { size } = await fs.promises.stat(file);
    await backups.write(quarantineKey(item.key), fs.createReadStream(file), {
      size,
      signal,
    });
  } finally {
    await spill.dispose();
  }
}

/** Removes the parts' staged outputs from the backup area (best effort). */
export async function removeStaged(
  backups: ObjectStore,
  outcomes: Array<Pick<PartOutcome, 'staged' | 'quarantine'>>,
): Promise<void> {
  for (const o of outcomes) {
    for (const key of [o.staged, o.quarantine]) {
      if (key) await backups.delete(key).catch(() => undefined);
    }
  }
}

import { InputError } from '@backstage/errors';
import type { TabularFormat } from '@internal/backstage-plugin-dataset-migration-common';
import type { ObjectStore } from '@internal/backstage-plugin-dataset-migration-node';
import { isDataKey } from './planTransform';

/**
 * A 64-bit hash of `s` as two 32-bit halves (the two lanes of cyrb53, both
 * kept), written to `out`: two different strings share one with a
 * probability of about 2^-64 (never when they have the same length and
 * differ in one character). `seed` varies it per plan.
 */
function hash64(s: string, seed: number, out: Uint32Array): void {
  // Looked up once: a global lookup per character is slow in a vm context (jest).
  const imul = Math.imul;
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = imul(h1 ^ ch, 2654435761);
    h2 = imul(h2 ^ ch, 1597334677);
  }
  h1 = imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= imul(h1 ^ (h1 >>> 13), 3266489909);
  out[0] = h1 >>> 0;
  out[1] = h2 >>> 0;
}

/** The collision table doubles when more than this share of its slots is used. */
const MAX_LOAD = 0.75;
const INITIAL_SLOTS = 1024;
/** Bytes of a slot: the target key's 64-bit hash and a 1-byte code. */
const SLOT_BYTES = 9;
/** Slot code of a first source key that could not be recorded. */
const UNKNOWN = 255;
/** Longest source-key ending a code stands for. */
const MAX_ENDING = 32;

/**
 * Two source keys that land on one target key. The first stays unnamed when
 * it could not be remembered (only a custom `landsOn` that moves keys far
 * from their name).
 */
export interface TargetKeyCollision {
  targetKey: string;
  sources: [string, string] | [string];
}

function collisionProblem(
  count: number,
  found: TargetKeyCollision[],
): InputError | undefined {
  if (count === 0) return undefined;
  const list = found
    .map(
      ({ targetKey, sources: [a, b] }) =>
        `'${a}' and ${
          b === undefined ? 'another object' : `'${b}'`
        } → '${targetKey}'`,
    )
    .join('; ');
  return new InputError(
    `${count} target key(s) would be written by two source objects (${list}); rename or remove one of each pair, or migrate them separately`,
  );
}

/**
 * Finds source keys that would land on the same target key: `a.csv` and
 * `a.parquet` (copied as it is) in a CSV → Parquet transform, `a.json` and
 * `a.jsonl`, or `a.CSV` and `a.csv`. Only keys with a data or target-format
 * extension can collide, so only those are remembered.
 *
 * Memory (issue 10): not the keys but an open-addressing table of 9-byte
 * slots, one per remembered key: the target key's 64-bit hash and a 1-byte
 * code for how the first source key that landed there differs from it
 * ("`csv` instead of `parquet`", "the same key"; the transform's rule needs a
 * handful of codes, 254 are kept). The table is 37.5–75 % full: 12–24 bytes
 * a key, 18 MiB (2^21 slots) for 1,000,000 data objects, where a `Map` of
 * the keys took ~180 bytes a key (bench/listing-memory.ts). A hash hit is checked by rebuilding the
 * first source key from its code and asking whether it lands on the same
 * target key, so the error names both keys. No collision is missed. A false
 * one needs two target keys with the same 64-bit hash and a rebuilt key of
 * the right shape: ~n²/2^65 for n keys (3·10^-8 for 1,000,000), and the
 * per-instance seed makes it go away when planned again.
 */
export class TargetKeyCollisions {
  /** The first few collisions. */
  readonly found: TargetKeyCollision[] = [];
  count = 0;
  private readonly seed = Math.floor(Math.random() * 2 ** 32);
  private readonly hash = new Uint32Array(2);
  private hi = new Uint32Array(INITIAL_SLOTS);
  private lo = new Uint32Array(INITIAL_SLOTS);
  /** Per slot: 0 when empty, UNKNOWN, or an index into `endings`. */
  private code = new Uint8Array(INITIAL_SLOTS);
  private used = 0;
  /** Per code: the source key is the target key less `drop` characters, plus `ending`. */
  private readonly endings: Array<{ drop: number; ending: string }> = [
    { drop: 0, ending: '' },
  ];
  private readonly codes = new Map<string, number>();

  constructor(
    private readonly source: TabularFormat,
    private readonly target: TabularFormat,
    /** Where a source key lands: the transform request's own rule. */
    private readonly landsOn: (key: string) => string,
  ) {}

  /** Bytes the table takes now; it grows by doubling. */
  get tableBytes(): number {
    return this.code.length * SLOT_BYTES;
  }

  add(key: string) {
    if (!isDataKey(key, this.source) && !isDataKey(key, this.target)) return;
    const targetKey = this.landsOn(key);
    hash64(targetKey, this.seed, this.hash);
    const h1 = this.hash[0];
    const h2 = this.hash[1];
    const mask = this.code.length - 1;
    let i = h2 & mask;
    for (; this.code[i] !== 0; i = (i + 1) & mask) {
      if (this.hi[i] !== h1 || this.lo[i] !== h2) continue;
      if (this.code[i] === UNKNOWN) {
        this.collide(targetKey, key, undefined);
        return;
      }
      const other = this.sourceKeyOf(this.code[i], targetKey);
      if (other === key) return; // listed twice: not a second source object
      if (other !== undefined && this.remembers(other, targetKey)) {
        this.collide(targetKey, key, other);
        return;
      }
      // Another target key with the same hash: look on.
    }
    this.hi[i] = h1;
    this.lo[i] = h2;
    this.code[i] = this.codeOf(key, targetKey);
    this.used += 1;
    if (this.used > this.code.length * MAX_LOAD) this.grow();
  }

  /** A plan error naming the first collisions, or undefined. */
  problem(): InputError | undefined {
    return collisionProblem(this.count, this.found);
  }

  /**
   * problem(), with both keys of each named collision checked by a `stat`
   * of the source (at most 10), so that a false hash hit (see the class)
   * cannot refuse a plan: a pair of which a key does not exist is dropped.
   * Collisions past the first five are not named and count as they are.
   */
  async confirmedProblem(
    source: Pick<ObjectStore, 'stat'>,
  ): Promise<InputError | undefined> {
    const exist = await Promise.all(
      this.found.map(async f =>
        (await Promise.all(f.sources.map(k => source.stat(k)))).every(Boolean),
      ),
    );
    const dropped = exist.filter(e => !e).length;
    return collisionProblem(
      this.count - dropped,
      this.found.filter((_, i) => exist[i]),
    );
  }

  private collide(targetKey: string, key: string, other: string | undefined) {
    this.count += 1;
    if (this.found.length >= 5) return;
    this.found.push({
      targetKey,
      sources:
        other === undefined ? [key] : ([other, key].sort() as [string, string]),
    });
  }

  /** The code for `key` as its target key's ending changed. */
  private codeOf(key: string, targetKey: string): number {
    const n = Math.min(key.length, targetKey.length);
    let common = 0;
    while (
      common < n &&
      key.charCodeAt(common) === targetKey.charCodeAt(common)
    ) {
      common += 1;
    }
    const ending = key.slice(common);
    if (ending.length > MAX_ENDING) return UNKNOWN;
    const drop = targetKey.length - common;
    const id = `${drop}/${ending}`;
    let code = this.codes.get(id);
    if (code === undefined) {
      if (this.endings.length >= UNKNOWN) return UNKNOWN;
      code = this.endings.length;
      this.endings.push({ drop, ending });
      this.codes.set(id, code);
    }
    return code;
  }

  /**
   * The source key a code stands for, rebuilt from the target key; undefined
   * when the code cannot describe a key of that target key.
   */
  private sourceKeyOf(code: number, targetKey: string): string | undefined {
    const { drop, ending } = this.endings[code];
    if (drop > targetKey.length) return undefined;
    return targetKey.slice(0, targetKey.length - drop) + ending;
  }

  /** Whether `key` is one add() remembers, landing on `targetKey`. */
  private remembers(key: string, targetKey: string): boolean {
    return (
      (isDataKey(key, this.source) || isDataKey(key, this.target)) &&
      this.landsOn(key) === targetKey
    );
  }

  private grow() {
    const { hi, lo, code } = this;
    const size = code.length * 2;
    const mask = size - 1;
    this.hi = new Uint32Array(size);
    this.lo = new Uint32Array(size);
    this.code = new Uint8Array(size);
    for (let j = 0; j < code.length; j++) {
      if (code[j] === 0) continue;
      let i = lo[j] & mask;
      while (this.code[i] !== 0) i = (i + 1) & mask;
      this.hi[i] = hi[j];
      this.lo[i] = lo[j];
      this.code[i] = code[j];
    }
  }
}

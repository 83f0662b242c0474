/**
 * Object keys that are legal everywhere (S3, GCS, a POSIX filesystem) and
 * that break naive encoding, path handling or case folding.
 */
export const AWKWARD_KEYS: readonly string[] = [
  // reserved in URLs: must be percent-encoded in paths, query strings and
  // S3's x-amz-copy-source
  'hash#tag.txt',
  'plus+sign+.txt',
  'equals=sign.txt',
  'amp&ersand&x=1.txt',
  'per%cent%.txt',
  'looks%2Fencoded%20already.txt',
  'question?mark?a=b.txt',
  'with space.txt',
  ' leading and trailing space ',
  'semi;colon,comma:colon@at$dollar!bang',
  "quote\"s and 'apostrophes'",
  'brackets[1](2){3}<4>',
  'star*pipe|caret^tilde~backtick`',
  // unicode: accents, CJK, Cyrillic, emoji (astral plane), and NFC vs NFD
  // forms of the same letter, which are different keys
  'ünïcødé/日本語/файл ♫.csv',
  'emoji/😀 grin/🎉.bin',
  'nfc-\u00e9.txt',
  'nfd-e\u0301.txt',
  // Hive partitions
  'part/year=2026/month=01/day=31/0.parquet',
  'part/year=2026/month=02/hour=00+00/1.parquet',
  // `..` and `.` inside a name are not traversal
  'a..b',
  'x/..hidden',
  '..hidden-at-top',
  'v1..v2.csv',
  'dots/...',
  'dots/.dotfile',
  // trailing dots (Windows would strip them)
  'name.',
  'dir./file',
  'trailing../x..',
  // deep
  'deep/a/b/c/d/e/f/g/h/i/j/leaf',
];

/** Keys that differ only by case: all must survive as distinct objects. */
export const CASE_KEYS: readonly string[] = [
  'Key',
  'key',
  'KEY',
  'Dir/file',
  'dir/file',
  'dir/File',
];

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * A key of exactly `bytes` UTF-8 bytes, of `/`-separated segments of at most
 * `segmentBytes` bytes each, built from `unit` (whose code points are never
 * split) and padded with ASCII. The last segment (the file name, on a
 * filesystem) is a full-length one.
 */
export function keyOfBytes(
  bytes: number,
  segmentBytes: number,
  unit = 'k',
): string {
  const unitBytes = utf8(unit);
  const fill = (n: number, index: number) => {
    // A short, distinct head per segment keeps segments from being
    // identical (and never `.`/`..`).
    const head = `s${index}-`.slice(0, n);
    let rest = n - utf8(head);
    const units = Math.floor(rest / unitBytes);
    rest -= units * unitBytes;
    return head + unit.repeat(units) + 'x'.repeat(rest);
  };
  const segments: string[] = [];
  let remaining = bytes;
  while (remaining > segmentBytes) {
    // Leave at least 2 bytes for `/` and the next segment.
    const n = Math.min(segmentBytes, remaining - 2);
    segments.push(fill(n, segments.length));
    remaining -= n + 1;
  }
  segments.push(fill(remaining, segments.length));
  // Full-length segments last: the object's own name is the longest one.
  const key = segments.reverse().join('/');
  if (utf8(key) !== bytes) {
    throw new Error(`keyOfBytes built ${utf8(key)} bytes, not ${bytes}`);
  }
  return key;
}

/**
 * The longest key a store at `prefix` can hold when the backend's full
 * object names (`<prefix>/<key>`) may have `maxKeyBytes` bytes.
 */
export function longestKey(
  prefix: string,
  maxKeyBytes: number,
  segmentBytes: number,
  unit?: string,
) {
  return keyOfBytes(maxKeyBytes - utf8(`${prefix}/`), segmentBytes, unit);
}

export { utf8 as utf8Bytes };

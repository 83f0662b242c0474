import path from 'node:path';
import { randomBytes } from 'node:crypto';

const TEMP_MARKER = '.dm-tmp-';
/**
 * Temp names end in this process's random tag and a count: unique among
 * processes writing the same folder, without random bytes per write.
 */
const TEMP_TAG = randomBytes(6).toString('hex');
let tempCount = 0;

/** Names of the temp files LocalObjectStore writes before a rename. */
export function isTempName(name: string) {
  return name.startsWith('.') && name.includes(TEMP_MARKER);
}

/**
 * The start of the name of every temp file written for the object at
 * `full` (beside it): `.<name, at most 100 bytes>.dm-tmp-`.
 */
export function tempPrefix(full: string) {
  return `.${utf8Prefix(path.basename(full), 100)}${TEMP_MARKER}`;
}

/** The longest prefix of `name` within `maxBytes` UTF-8 bytes (NAME_MAX counts bytes). */
function utf8Prefix(name: string, maxBytes: number) {
  let bytes = 0;
  let end = 0;
  for (const char of name) {
    bytes += Buffer.byteLength(char);
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return name.slice(0, end);
}

/** A new temp path beside `full` (see {@link isTempName}). */
export function tempPathFor(full: string) {
  return path.join(
    path.dirname(full),
    `${tempPrefix(full)}${TEMP_TAG}${(tempCount++).toString(36)}`,
  );
}

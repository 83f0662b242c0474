/**
 * Parsing and validation of dataset location URIs.
 *
 * Locations are user input (API bodies, catalog annotations), so everything
 * that could escape the intended bucket or folder is refused here, once, before
 * any storage backend sees it.
 */

/** @public */
export const LOCATION_SCHEMES = ['file', 's3', 'gs'] as const;

/** @public */
export type LocationScheme = (typeof LOCATION_SCHEMES)[number];

/**
 * A parsed dataset location.
 *
 * @public
 */
export interface DatasetLocation {
  /** The original URI, normalised (no trailing slash on the prefix). */
  uri: string;
  scheme: LocationScheme;
  /**
   * Bucket name for object stores; for `file`, the name of a configured local
   * root (`file://examples/plays`), or empty for an absolute path.
   */
  bucket: string;
  /**
   * Object-key prefix (object stores; relative folder inside a named local
   * root), or the absolute folder path for `file:///…`, without a trailing
   * slash. Empty string means the whole bucket or root.
   */
  path: string;
}

/** @public */
export class InvalidLocationError extends Error {
  name = 'InvalidLocationError';
}

const BUCKET_RE = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const ROOT_NAME_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * Validates a relative object key or path segment list: no empty, `.` or `..`
 * segments, no NUL or control characters, no backslashes.
 *
 * @public
 */
export function validateKey(key: string, what = 'key'): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidLocationError(`${what} must be a non-empty string`);
  }
  if (key.length > 1024) {
    throw new InvalidLocationError(`${what} is longer than 1024 characters`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(key)) {
    throw new InvalidLocationError(
      `${what} '${printable(key)}' contains control characters or backslashes`,
    );
  }
  if (key.startsWith('/')) {
    throw new InvalidLocationError(`${what} '${key}' must be relative`);
  }
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new InvalidLocationError(
        `${what} '${key}' contains an empty, '.' or '..' path segment`,
      );
    }
  }
  return key;
}

function printable(s: string) {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, '?');
}

/**
 * Parses and validates a dataset location URI.
 *
 * @public
 */
export function parseLocation(uri: string): DatasetLocation {
  if (typeof uri !== 'string' || uri.length === 0) {
    throw new InvalidLocationError('location must be a non-empty URI');
  }
  if (uri.length > 2048) {
    throw new InvalidLocationError('location is longer than 2048 characters');
  }
  const match = /^([a-z0-9]+):\/\/([^/]*)(\/.*)?$/.exec(uri);
  if (!match) {
    throw new InvalidLocationError(
      `location '${printable(
        uri,
      )}' is not a URI like s3://bucket/prefix, gs://bucket/prefix or file:///path`,
    );
  }
  const [, scheme, authority, rawPath = ''] = match;
  if (!(LOCATION_SCHEMES as readonly string[]).includes(scheme)) {
    throw new InvalidLocationError(
      `location scheme '${scheme}' is not supported; use one of ${LOCATION_SCHEMES.map(
        s => `${s}://`,
      ).join(', ')}`,
    );
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw new InvalidLocationError(
      `location '${printable(uri)}' has invalid percent-encoding`,
    );
  }
  const trimmed = decoded.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed !== '') {
    validateKey(trimmed, 'location path');
  }
  if (scheme === 'file') {
    // file:///abs/path names a folder by absolute path; file://root/path names
    // a folder inside a local root configured by name (so catalog files need
    // no machine-specific absolute paths).
    if (authority === '' || authority === 'localhost') {
      if (trimmed === '') {
        throw new InvalidLocationError('file location must name a folder');
      }
      return {
        uri: `file:///${trimmed}`,
        scheme,
        bucket: '',
        path: `/${trimmed}`,
      };
    }
    if (!ROOT_NAME_RE.test(authority)) {
      throw new InvalidLocationError(
        `file location must be file:///absolute/path or file://<root-name>/path, got '${printable(
          uri,
        )}'`,
      );
    }
    return {
      uri: `file://${authority}${trimmed ? `/${trimmed}` : ''}`,
      scheme,
      bucket: authority,
      path: trimmed,
    };
  }
  if (!BUCKET_RE.test(authority) || authority.includes('..')) {
    throw new InvalidLocationError(
      `bucket name '${printable(
        authority,
      )}' is invalid: use 3-222 lowercase letters, digits, '.', '-' or '_'`,
    );
  }
  return {
    uri: `${scheme}://${authority}${trimmed ? `/${trimmed}` : ''}`,
    scheme: scheme as LocationScheme,
    bucket: authority,
    path: trimmed,
  };
}

/**
 * How location `a` relates to location `b`: the same folder or prefix, `a`
 * containing `b`, `a` inside `b`, or disjoint. The one overlap decision of
 * the plugins (source vs target, target vs backup area).
 *
 * Different schemes or buckets never overlap; an empty path (a whole bucket
 * or named root) contains every path of its bucket; prefixes compare by
 * whole segments (`data` does not contain `data2`). Locations are compared
 * as written: resolve named local roots to absolute paths first (the
 * backend's `LocationComparator` does) to compare `file://root/x` with
 * `file:///abs/x`.
 *
 * @public
 */
export function relateLocations(
  a: DatasetLocation,
  b: DatasetLocation,
): 'same' | 'contains' | 'inside' | 'disjoint' {
  if (a.scheme !== b.scheme || a.bucket !== b.bucket) return 'disjoint';
  if (a.path === b.path) return 'same';
  if (isWithin(b.path, a.path)) return 'contains';
  if (isWithin(a.path, b.path)) return 'inside';
  return 'disjoint';
}

/**
 * Whether two locations share objects: one is, or contains, the other.
 * See {@link relateLocations}.
 *
 * @public
 */
export function locationsOverlap(
  a: DatasetLocation,
  b: DatasetLocation,
): boolean {
  return relateLocations(a, b) !== 'disjoint';
}

function isWithin(inner: string, outer: string): boolean {
  return outer === '' || outer === '/' || inner.startsWith(`${outer}/`);
}

import {
  hexToBase64,
  RetryableUnavailableError,
} from '@internal/backstage-plugin-dataset-migration-node';
import { toGcsError } from './errors';

/**
 * What a chunked upload makes of GCS's answers: which statuses are worth a
 * retry and after how long, and the errors of the ones that are not.
 */

/** Checksums (hex) the source's bytes were listed with. */
export interface ListedChecksums {
  md5?: string;
  crc32c?: string;
}

export const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Delay before retry `n` (1-based): 1 s, 2 s, 4 s… plus jitter, at most 32 s. */
export function retryDelay(n: number) {
  return Math.min(32_000, 1000 * 2 ** (n - 1)) + Math.random() * 1000;
}

/** The object finished at another size than the one being sent: retryable. */
export function finishedAt(
  describe: string,
  stored: number,
  sent: number,
  more: boolean,
) {
  return new RetryableUnavailableError(
    `Writing ${describe}: GCS reported the object finished at ${stored} bytes, but ${sent} bytes were sent${
      more ? ' and more were to come' : ''
    }`,
  );
}

/**
 * A session request answered with an error that retrying the request cannot
 * mend. Two are worth a new write: the session is gone (404 / 410: expired,
 * cancelled) and GCS refused the final chunk because the object's bytes do
 * not have the checksum sent with it (damaged on the way, or a source that
 * changed since it was listed). The others are what the client would report
 * (denied, bad request).
 */
export function refused(
  options: { describe: string; expected?: ListedChecksums },
  status: number,
  error: Error,
) {
  const { describe, expected } = options;
  if (status === 404 || status === 410) {
    return new RetryableUnavailableError(
      `Writing ${describe}: the upload session is gone (HTTP ${status}); the object must be sent again`,
    );
  }
  if (status === 400 && /crc32c|md5/i.test(error.message)) {
    const whose = sentChecksums(expected)
      ? 'the source was listed with (it changed since, or the bytes were damaged on the way)'
      : 'of those read from the source';
    return new RetryableUnavailableError(
      `Writing ${describe}: GCS refused the object, its bytes do not have the checksum ${whose} (${error.message})`,
    );
  }
  return toGcsError(error, `Writing ${describe}`);
}

/** The listed checksums GCS is sent (base64), or undefined for none. */
export function sentChecksums(expected: ListedChecksums | undefined) {
  const sent = Object.entries({
    crc32c: expected?.crc32c,
    md5: expected?.md5,
  }).filter((e): e is [string, string] => Boolean(e[1]));
  return sent.length > 0
    ? Object.fromEntries(sent.map(([a, hex]) => [a, hexToBase64(hex)]))
    : undefined;
}

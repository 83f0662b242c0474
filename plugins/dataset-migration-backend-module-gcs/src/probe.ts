import type { Bucket } from '@google-cloud/storage';
import type { DatasetLocation } from '@internal/backstage-plugin-dataset-migration-common';
import { toGcsProbeError } from './errors';

/**
 * Lists one object under `prefix`: needs only storage.objects.list (what a
 * listing needs anyway) and tells a missing bucket, denied access and a
 * dead endpoint apart. The client takes no signal, so the call is raced
 * against it: a retry or credential lookup may go on in the background,
 * but the answer comes when the signal fires.
 */
export async function probeListing(
  bucket: Bucket,
  location: DatasetLocation,
  options: { prefix: string; maxRetries: number; signal?: AbortSignal },
): Promise<void> {
  const { prefix, signal } = options;
  const { uri } = location;
  signal?.throwIfAborted();
  // One retry at most (~1-2 s of backoff): a dead endpoint is reported as
  // such rather than as a timeout, a single transient error is absorbed.
  const listing = bucket.request({
    uri: '/o',
    qs: { maxResults: 1, ...(prefix && { prefix }) },
    maxRetries: Math.min(1, options.maxRetries),
  });
  listing.catch(() => undefined);
  let onAbort = () => {};
  const timedOut = new Promise<'timed out'>(resolve => {
    onAbort = () => resolve('timed out');
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  let outcome;
  try {
    outcome = await Promise.race([listing, timedOut]);
  } catch (e) {
    throw toGcsProbeError(e, uri, location.bucket);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (outcome === 'timed out') {
    throw toGcsProbeError({ code: 'ETIMEDOUT' }, uri, location.bucket);
  }
}

import type { GcsTestStore } from './gcsTestStore';

/**
 * One page of `objects.list` as GCS answers it: `prefix`, `startOffset`
 * (inclusive), `maxResults` (at most 1000) and an opaque `pageToken`
 * (the last name of the page before).
 */
export function objectsPage(
  store: GcsTestStore,
  bucket: string,
  q: URLSearchParams,
) {
  const maxResults = Math.min(1000, Number(q.get('maxResults') ?? 1000));
  const token = q.get('pageToken');
  const page = store.list(bucket, {
    prefix: q.get('prefix') ?? '',
    startAfter: token
      ? Buffer.from(token, 'base64url').toString('utf8')
      : undefined,
    startAt: q.get('startOffset') ?? undefined,
    maxResults: maxResults > 0 ? maxResults : 1000,
  });
  return {
    kind: 'storage#objects',
    items: page.items,
    ...(page.more && page.last
      ? { nextPageToken: Buffer.from(page.last).toString('base64url') }
      : {}),
  };
}

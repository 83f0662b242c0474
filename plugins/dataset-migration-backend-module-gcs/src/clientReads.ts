import type {
  Bucket,
  File,
  FileMetadata,
  GetFilesOptions,
} from '@google-cloud/storage';
import { PassThrough, Readable } from 'node:stream';
import type { ByteRange } from '@internal/backstage-plugin-dataset-migration-node';
import { isGcsNotFound, toGcsError } from './errors';
import type { ListedPage, ListPageRequest } from './fastReads';

/**
 * Reads through the client library (`fastReads: false`, a proxy, or an
 * object stored gzip-encoded, which the library decompresses).
 */

/** An object's metadata, or undefined when there is none. */
export async function metadataThroughClient(
  file: File,
  describe: string,
): Promise<FileMetadata | undefined> {
  try {
    const [metadata] = await file.getMetadata();
    return metadata;
  } catch (e) {
    if (isGcsNotFound(e)) {
      return undefined;
    }
    throw toGcsError(e, `Reading metadata of ${describe}`);
  }
}

/**
 * The bytes of `file` (of `size` bytes; pin its generation, so that a
 * concurrent overwrite cannot mix two versions into one read), or of
 * `range`. A whole object's CRC32C is checked.
 */
export function readThroughClient(
  file: File,
  size: number,
  range: ByteRange | undefined,
  describe: string,
): Readable {
  if (size === 0) {
    return Readable.from([]);
  }
  const stream = file.createReadStream(
    range
      ? { start: range.start, end: range.end, validation: false }
      : { validation: 'crc32c' },
  );
  // Errors while streaming (resets, a CRC32C mismatch) become named,
  // retryable errors like those of the other calls.
  const out = new PassThrough();
  stream.on('error', e => out.destroy(toGcsError(e, `Reading ${describe}`)));
  return stream.pipe(out);
}

/** One page of a listing through the client library (see `fastReads.listPage`). */
export async function listPageThroughClient(
  bucket: Bucket,
  page: ListPageRequest,
): Promise<ListedPage> {
  const query: GetFilesOptions = {
    prefix: page.prefix,
    maxResults: page.maxResults,
    autoPaginate: false,
    ...(page.startOffset !== undefined && { startOffset: page.startOffset }),
    ...(page.pageToken && { pageToken: page.pageToken }),
  };
  try {
    const [files, next] = (await bucket.getFiles(query)) as unknown as [
      File[],
      GetFilesOptions | null,
    ];
    return {
      items: files.map(file => file.metadata),
      nextPageToken: next?.pageToken,
    };
  } catch (e) {
    throw toGcsError(e, `Listing ${page.describe}`);
  }
}

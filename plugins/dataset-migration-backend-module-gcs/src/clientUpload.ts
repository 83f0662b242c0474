import type { File, FileMetadata } from '@google-cloud/storage';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InputError } from '@backstage/errors';
import {
  HashingStream,
  WriteHints,
} from '@internal/backstage-plugin-dataset-migration-node';
import { finishedAt } from './chunkAnswers';
import { toGcsError } from './errors';

/**
 * Writes through the client library: one buffered request below the
 * threshold, else its resumable upload stream (unknown sizes, or
 * `fastUploads: false`). Returns the bytes sent and what GCS stored.
 */
export async function writeThroughClient(
  file: File,
  body: Readable,
  hints: WriteHints & {
    resumableThresholdBytes: number;
    chunkBytes: number;
    /** `gs://bucket/key`, for messages. */
    describe: string;
  },
): Promise<{ size: number; metadata: FileMetadata }> {
  const size = hints.size;
  // The client hashes the upload (crc32c) and compares it with what GCS
  // stored; hashing again here would only cost CPU. This just counts bytes.
  const hashing = new HashingStream([]);
  const resumable = size === undefined || size >= hints.resumableThresholdBytes;
  let finishedEarly: Error | undefined;
  try {
    if (resumable) {
      // Chunked sessions keep one chunk in memory so a failed request is
      // re-sent from the last byte GCS confirmed, not from the start.
      const upload = file.createWriteStream({
        resumable: true,
        chunkSize: hints.chunkBytes,
        contentType: hints.contentType,
        validation: 'crc32c',
      });
      // A server that reports the object finished before it has every byte
      // leaves the client waiting forever for the rest of the session (it
      // neither errors nor reads on): fail at once, retryably.
      upload.on(
        'response',
        (resp: { status?: number; data?: { size?: unknown } }) => {
          if (resp.status !== 200 && resp.status !== 201) return;
          const stored = Number(resp.data?.size);
          if (hashing.readableEnded && stored === hashing.byteCount) return;
          finishedEarly = finishedAt(
            hints.describe,
            stored,
            hashing.byteCount,
            !hashing.readableEnded,
          );
          upload.destroy(finishedEarly);
        },
      );
      // After a failure the client can emit a late error of its own (a
      // RangeError about offsets, from a retry it had scheduled) once the
      // pipeline has let go of the stream: without a listener that would
      // be an uncaught exception. The pipeline still sees every error.
      upload.on('error', () => {});
      await pipeline(body, hashing, upload, { signal: hints.signal });
    } else {
      // Small objects: buffered (below the threshold) so the client can
      // retry the whole single-request upload.
      const chunks: Buffer[] = [];
      await pipeline(
        body,
        hashing,
        async function* collect(source) {
          for await (const chunk of source) {
            chunks.push(chunk as Buffer);
          }
        },
        { signal: hints.signal },
      );
      await file.save(Buffer.concat(chunks), {
        resumable: false,
        contentType: hints.contentType,
        validation: 'crc32c',
      });
    }
  } catch (e) {
    throw finishedEarly ?? toGcsError(e, `Writing ${hints.describe}`);
  }
  const storedSize = Number(file.metadata.size);
  if (Number.isFinite(storedSize) && storedSize !== hashing.byteCount) {
    throw finishedAt(
      hints.describe,
      storedSize,
      hashing.byteCount,
      !hashing.readableEnded,
    );
  }
  if (size !== undefined && hashing.byteCount !== size) {
    throw new InputError(
      `Writing ${hints.describe}: expected ${size} bytes but the source delivered ${hashing.byteCount}`,
    );
  }
  return { size: hashing.byteCount, metadata: file.metadata };
}

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { NotFoundError } from '@backstage/errors';
import type {
  CopyHints,
  ObjectStore,
  WriteResult,
} from '@internal/backstage-plugin-dataset-migration-node';
import {
  configuredChecksum,
  multipartChecksumType,
  partChecksums,
  type PartChecksums,
} from './checksums';
import { toS3Error } from './errors';
import {
  additionalChecksums,
  md5FromEtag,
  S3ObjectStore,
} from './S3ObjectStore';

/** `x-amz-copy-source`: bucket/key, URL-encoded but keeping the slashes. */
function copySource(bucket: string, key: string) {
  return `${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
}

/**
 * Server-side copy between two stores of the same S3 backend (same endpoint
 * and credentials): CopyObject up to the threshold, UploadPartCopy above it.
 * Returns undefined when the other store is not reachable this way, or the
 * server does not implement part copy; the engine then streams the object.
 */
export async function copyWithinS3(
  target: S3ObjectStore,
  source: ObjectStore,
  sourceKey: string,
  targetKey: string,
  hints?: CopyHints,
): Promise<WriteResult | undefined> {
  if (!(source instanceof S3ObjectStore) || source.backend !== target.backend) {
    return undefined;
  }
  // The size decides between CopyObject and part copies: a caller that
  // listed the object spares a HEAD per object (a missing source then
  // fails the copy itself, as NoSuchKey).
  const info =
    hints?.size !== undefined
      ? { size: hints.size, checksums: {} }
      : await source.stat(sourceKey);
  if (!info) {
    throw new NotFoundError(
      `Copying ${source.describe(sourceKey)}: object not found`,
    );
  }
  const { client, options } = target.backend;
  const Key = target.objectKey(targetKey);
  const CopySource = copySource(source.bucket, source.objectKey(sourceKey));
  const what = `Copying ${source.describe(sourceKey)} to ${target.describe(
    targetKey,
  )}`;
  // The copy gets the configured checksum, as a write would.
  const algorithm = configuredChecksum(options);
  await target.backend.limiter(target.location, 'write').acquire();

  if (info.size <= options.multipartCopyThresholdBytes) {
    try {
      const etag =
        (await target.backend.fast?.copy(target.bucket, Key, CopySource, {
          checksumAlgorithm: algorithm,
        })) ??
        (
          await client.send(
            new CopyObjectCommand({
              Bucket: target.bucket,
              Key,
              CopySource,
              ChecksumAlgorithm: algorithm,
            }),
          )
        ).CopyObjectResult;
      const md5 = md5FromEtag(etag?.ETag, options.etagIsMd5);
      return {
        size: info.size,
        checksums: { ...info.checksums, ...(md5 ? { md5 } : {}) },
      };
    } catch (e) {
      throw toS3Error(e, what);
    }
  }

  let uploadId: string | undefined;
  try {
    // As the parted and streamed writes: S3 computes each copied part's
    // checksum of the algorithm the upload names and, for CRC32C, combines
    // them into the object's full-object CRC32C, which a HEAD answers and
    // checksum validation can compare without reading the copy. (No part
    // carries a body, so the SDK adds no checksum of its own: without one
    // configured, none.)
    const created = await client.send(
      new CreateMultipartUploadCommand({
        Bucket: target.bucket,
        Key,
        ChecksumAlgorithm: algorithm,
        ...multipartChecksumType(algorithm),
      }),
    );
    uploadId = created.UploadId!;
    const partSize = Math.max(
      options.partSizeBytes,
      Math.ceil(info.size / 10_000),
    );
    const ranges: Array<{ PartNumber: number; range: string }> = [];
    for (let start = 0, n = 1; start < info.size; start += partSize, n++) {
      const end = Math.min(info.size, start + partSize) - 1;
      ranges.push({ PartNumber: n, range: `bytes=${start}-${end}` });
    }
    const parts: Array<{ PartNumber: number; ETag?: string } & PartChecksums> =
      [];
    let next = 0;
    const worker = async () => {
      while (next < ranges.length) {
        const { PartNumber, range } = ranges[next++];
        const part = await client.send(
          new UploadPartCopyCommand({
            Bucket: target.bucket,
            Key,
            UploadId: uploadId,
            PartNumber,
            CopySource,
            CopySourceRange: range,
          }),
        );
        const result = part.CopyPartResult ?? {};
        // The part checksums S3 computed, for CompleteMultipartUpload to
        // list (a COMPOSITE upload, SHA-256, needs every part's).
        parts.push({ PartNumber, ETag: result.ETag, ...partChecksums(result) });
      }
    };
    await Promise.all(
      Array.from({ length: options.uploadConcurrency }, worker),
    );
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    const done = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: target.bucket,
        Key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
        ...multipartChecksumType(algorithm),
      }),
    );
    // The copy has the source's bytes; its multipart ETag is not an MD5,
    // but S3 answers its full-object CRC32C.
    return {
      size: info.size,
      checksums: { ...info.checksums, ...additionalChecksums(done) },
    };
  } catch (e) {
    if (uploadId) {
      await client
        .send(
          new AbortMultipartUploadCommand({
            Bucket: target.bucket,
            Key,
            UploadId: uploadId,
          }),
        )
        .catch(() => undefined);
    }
    if ((e as { name?: string })?.name === 'NotImplemented') {
      return undefined;
    }
    throw toS3Error(e, what);
  }
}

import type { CompletedPart } from '@aws-sdk/client-s3';
import type { S3BackendOptions } from './options';

/** The additional checksum writes ask S3 for: the configured one, if any. */
export function configuredChecksum(
  options: Pick<S3BackendOptions, 'checksumAlgorithm'>,
): 'CRC32C' | 'SHA256' | undefined {
  return options.checksumAlgorithm === 'none'
    ? undefined
    : options.checksumAlgorithm;
}

/**
 * The `ChecksumType` a multipart upload of the configured checksum names at
 * CreateMultipartUpload and CompleteMultipartUpload: FULL_OBJECT for CRC32C,
 * so that S3 combines the part CRCs into a CRC of the whole object,
 * comparable with GCS and local files; S3's default otherwise (SHA-256 can
 * only be COMPOSITE).
 */
export function multipartChecksumType(algorithm: string | undefined): {
  ChecksumType?: 'FULL_OBJECT';
} {
  return algorithm === 'CRC32C' ? { ChecksumType: 'FULL_OBJECT' } : {};
}

/** The part checksums S3 answers to UploadPart / UploadPartCopy. */
const PART_CHECKSUMS = [
  'ChecksumCRC32',
  'ChecksumCRC32C',
  'ChecksumCRC64NVME',
  'ChecksumSHA1',
  'ChecksumSHA256',
] as const;

export type PartChecksums = Pick<
  CompletedPart,
  (typeof PART_CHECKSUMS)[number]
>;

/**
 * The checksums S3 answered for a part, for CompleteMultipartUpload to list
 * with it (a COMPOSITE upload needs each part's; a FULL_OBJECT one checks
 * those given).
 */
export function partChecksums(answer: PartChecksums): PartChecksums {
  const result: PartChecksums = {};
  for (const name of PART_CHECKSUMS) {
    if (answer[name]) result[name] = answer[name];
  }
  return result;
}

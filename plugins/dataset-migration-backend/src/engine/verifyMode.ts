import type { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import type {
  ChecksumAlgorithm,
  Checksums,
  MigrationStrategy,
  VerifyMode,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { WorkItem } from '../database/WorkItemStore';

/** `datasetMigration.validation`. */
export interface ValidationConfig {
  /** Whether a request may ask for `verify: 'none'`. */
  allowVerifyNone: boolean;
}

export function readValidationConfig(c: Config | undefined): ValidationConfig {
  return {
    allowVerifyNone:
      c?.getOptionalBoolean('validation.allowVerifyNone') ?? false,
  };
}

/**
 * The verify mode a new migration keeps, or undefined for the default
 * (`checksum` per object where source and target share a checksum, else
 * `full`). Refuses, as a 400, what validation could not honour.
 */
export function resolveVerifyMode(
  request: { strategy: MigrationStrategy; options?: { verify?: VerifyMode } },
  config: ValidationConfig,
): VerifyMode | undefined {
  const mode = request.options?.verify;
  if (mode === undefined || mode === 'full') return mode;
  if (request.strategy === 'schema-transform') {
    // The transform writes other bytes than the source holds, so no source
    // checksum can vouch for the target; its own checks re-read the output.
    throw new InputError(
      `options.verify '${mode}' cannot be used with the schema-transform strategy: transformed objects differ from the source byte for byte and are always re-read; use 'full' or leave verify out`,
    );
  }
  if (mode === 'none' && !config.allowVerifyNone) {
    throw new InputError(
      `options.verify 'none' would only compare sizes and is not allowed on this backend; set datasetMigration.validation.allowVerifyNone to allow it, or use 'checksum' or 'full'`,
    );
  }
  return mode;
}

/**
 * Whether a copy hashes the sha256 of the bytes it copies (of each part,
 * for a copy in parts) for validation: the `full` mode compares it, and so
 * does a fallback to re-reading for a target that keeps no CRC32C. Where
 * the target keeps CRC32Cs (S3 with full-object CRC32C, GCS) of every
 * object it stores, `checksum` compares those with the source's, listed or
 * hashed on the way: a sha256 would go unused, at about 3 CPU-s per GiB on
 * a busy machine (bench/README.md). Should the target show none after all,
 * validation reads the source again (validate.ts).
 */
export function copyNeedsSha256(stores: {
  target: { capabilities: { checksums: readonly ChecksumAlgorithm[] } };
  verify?: VerifyMode;
}): boolean {
  return (
    stores.verify === 'full' ||
    !stores.target.capabilities.checksums.includes('crc32c')
  );
}

/** Strongest first: every store that keeps md5 and crc32c agrees on both. */
const PREFERENCE: ChecksumAlgorithm[] = ['sha256', 'md5', 'crc32c'];

/** The checksums recorded for an item's source object (listed or hashed). */
export function sourceChecksums(item: WorkItem): Checksums {
  return {
    // A copy in parts records the digest of its parts' sha256s instead.
    sha256: item.copyMethod === 'parts' ? undefined : item.sourceSha256,
    md5: item.sourceMd5,
    crc32c: item.sourceCrc32c,
  };
}

/** The strongest checksum both sides have, with each side's value. */
export function commonChecksum(
  source: Checksums,
  target: Checksums | undefined,
):
  | { algorithm: ChecksumAlgorithm; source: string; target: string }
  | undefined {
  for (const algorithm of PREFERENCE) {
    const s = source[algorithm];
    const t = target?.[algorithm];
    if (s && t) return { algorithm, source: s, target: t };
  }
  return undefined;
}

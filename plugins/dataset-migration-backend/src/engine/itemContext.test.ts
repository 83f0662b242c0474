import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  crc32c,
  type ObjectStore,
  type StoreCapabilities,
} from '@internal/backstage-plugin-dataset-migration-node';
import { writeHashed } from './itemContext';

/** A target that drains the body and reports `reported` as its checksums. */
function target(
  capabilities: Partial<StoreCapabilities>,
  reported: Record<string, string> = {},
): ObjectStore {
  return {
    capabilities: { serverSideCopy: false, multipart: false, ...capabilities },
    async write(_key: string, body: Readable) {
      let size = 0;
      for await (const chunk of body) size += (chunk as Buffer).length;
      return { size, checksums: reported };
    },
  } as unknown as ObjectStore;
}

describe('writeHashed', () => {
  const data = Buffer.from('the bytes of one object\n'.repeat(1000));
  const sha256 = createHash('sha256').update(data).digest('hex');
  const md5 = createHash('md5').update(data).digest('hex');
  const crc = crc32c(data).toString(16).padStart(8, '0');
  const options = { size: data.length, signal: new AbortController().signal };

  it('hashes sha256 only for a target that keeps no checksum', async () => {
    const written = await writeHashed(
      target({ checksums: [] }),
      'k',
      Readable.from([data]),
      options,
    );
    expect(written).toEqual({ sha256, size: data.length });
  });

  it('hashes what the target keeps, and takes what its write hashed from the result', async () => {
    const written = await writeHashed(
      target(
        { checksums: ['md5', 'crc32c'], writeChecksums: ['md5'] },
        { md5: 'md5-from-the-write' },
      ),
      'k',
      Readable.from([data]),
      options,
    );
    expect(written).toEqual({
      sha256,
      md5: 'md5-from-the-write',
      crc32c: crc,
      size: data.length,
    });
  });

  it('hashes md5 itself when the write does not', async () => {
    const written = await writeHashed(
      target({ checksums: ['md5'] }),
      'k',
      Readable.from([data]),
      options,
    );
    expect(written).toEqual({ sha256, md5, size: data.length });
  });

  it('hashes sha256 only when asked for no extra checksum', async () => {
    const written = await writeHashed(
      target({ checksums: ['md5', 'crc32c'] }),
      'k',
      Readable.from([data]),
      { ...options, extra: [] },
    );
    expect(written).toEqual({ sha256, size: data.length });
  });
});

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

  it('lets the target re-read the source only when nothing is hashed on the way', async () => {
    const hints: any[] = [];
    const recording = (capabilities: Partial<StoreCapabilities>) => {
      const store = target(capabilities, { md5, crc32c: crc });
      const write = store.write.bind(store);
      store.write = (key, body, h) => {
        hints.push(h);
        return write(key, body, h);
      };
      return store;
    };
    const reread = async (start: number) =>
      Readable.from([data.subarray(start)]);
    const kept = { checksums: ['md5', 'crc32c'] as Array<'md5' | 'crc32c'> };

    // Nothing to hash (the target hashes what it keeps): the body goes as
    // it is, and so does `reread`.
    const straight = await writeHashed(
      recording({ ...kept, writeChecksums: ['md5', 'crc32c'] }),
      'k',
      Readable.from([data]),
      { ...options, sha256: false, reread, expected: { md5 } },
    );
    expect(straight).toEqual({ md5, crc32c: crc, size: data.length });
    expect(hints[0].reread).toBe(reread);
    expect(hints[0].expected).toEqual({ md5 });

    // A sha256 on the way: bytes re-read would not be hashed, so no reread.
    await writeHashed(recording(kept), 'k', Readable.from([data]), {
      ...options,
      reread,
    });
    expect(hints[1].reread).toBeUndefined();
  });
});

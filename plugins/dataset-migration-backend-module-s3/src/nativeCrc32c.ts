import { crc32c } from '@internal/backstage-plugin-dataset-migration-node';

/**
 * CRC32C for the AWS SDK's flexible checksums: the checksums it computes
 * for requests itself, and the validation of every GET of an object stored
 * with a CRC32C (the SDK asks for it by default). The SDK's own CRC32C is
 * a JavaScript loop, one byte at a time, on the main thread; this one is
 * the plugin's native CRC32C (`@node-rs/crc32`, portable JS as fallback).
 * Same interface as the SDK's (`update` / `digest` / `reset`).
 */
export class NativeCrc32c {
  #crc = 0;

  update(data: Uint8Array): void {
    this.#crc = crc32c(data, this.#crc);
  }

  async digest(): Promise<Uint8Array> {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, this.#crc >>> 0);
    return out;
  }

  reset(): void {
    this.#crc = 0;
  }
}

import { formatBytes } from './format';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KiB'],
    [1048575.9, '1.0 MiB'],
    [1024 ** 2 - 1, '1.0 MiB'],
    [150 * 1024 ** 3, '150 GiB'],
    [-1, '—'],
  ])('%p bytes read %p', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

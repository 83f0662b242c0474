import { ConfigReader } from '@backstage/config';
import { InputError } from '@backstage/errors';
import {
  commonChecksum,
  readValidationConfig,
  resolveVerifyMode,
} from './verifyMode';

const strict = { allowVerifyNone: false };
const lenient = { allowVerifyNone: true };

describe('resolveVerifyMode', () => {
  it('keeps no mode (checksum where possible) and full for either strategy', () => {
    for (const strategy of ['bulk-copy', 'schema-transform'] as const) {
      expect(resolveVerifyMode({ strategy }, strict)).toBeUndefined();
      expect(
        resolveVerifyMode({ strategy, options: { verify: 'full' } }, strict),
      ).toBe('full');
    }
    expect(
      resolveVerifyMode(
        { strategy: 'bulk-copy', options: { verify: 'checksum' } },
        strict,
      ),
    ).toBe('checksum');
  });

  it("refuses 'none' unless configured", () => {
    const request = {
      strategy: 'bulk-copy',
      options: { verify: 'none' },
    } as const;
    expect(() => resolveVerifyMode(request, strict)).toThrow(InputError);
    expect(() => resolveVerifyMode(request, strict)).toThrow(
      /datasetMigration\.validation\.allowVerifyNone/,
    );
    expect(resolveVerifyMode(request, lenient)).toBe('none');
  });

  it('refuses checksum and none for a schema-transform, even when none is allowed', () => {
    for (const verify of ['checksum', 'none'] as const) {
      expect(() =>
        resolveVerifyMode(
          { strategy: 'schema-transform', options: { verify } },
          lenient,
        ),
      ).toThrow(
        new InputError(
          `options.verify '${verify}' cannot be used with the schema-transform strategy: transformed objects differ from the source byte for byte and are always re-read; use 'full' or leave verify out`,
        ),
      );
    }
  });
});

describe('readValidationConfig', () => {
  it('defaults to refusing none', () => {
    expect(readValidationConfig(undefined)).toEqual(strict);
    expect(readValidationConfig(new ConfigReader({}))).toEqual(strict);
    expect(
      readValidationConfig(
        new ConfigReader({ validation: { allowVerifyNone: true } }),
      ),
    ).toEqual(lenient);
  });
});

describe('commonChecksum', () => {
  it('picks the strongest algorithm both sides have', () => {
    expect(
      commonChecksum(
        { sha256: 'aa', md5: 'bb', crc32c: 'cc' },
        { md5: 'BB', crc32c: 'CC' },
      ),
    ).toEqual({ algorithm: 'md5', source: 'bb', target: 'BB' });
    expect(
      commonChecksum({ md5: 'bb', crc32c: 'cc' }, { crc32c: 'cd' }),
    ).toEqual({ algorithm: 'crc32c', source: 'cc', target: 'cd' });
  });

  it('finds none without an algorithm in common', () => {
    expect(commonChecksum({ md5: 'bb' }, { crc32c: 'cc' })).toBeUndefined();
    expect(commonChecksum({ md5: 'bb' }, undefined)).toBeUndefined();
    expect(commonChecksum({}, { md5: 'bb' })).toBeUndefined();
  });
});

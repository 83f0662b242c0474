import { parseLocation, validateKey } from './location';

describe('parseLocation', () => {
  it.each([
    ['s3://my-bucket/plays/2026', 's3', 'my-bucket', 'plays/2026'],
    ['s3://my-bucket/plays/2026/', 's3', 'my-bucket', 'plays/2026'],
    ['gs://analytics.example/raw', 'gs', 'analytics.example', 'raw'],
    ['gs://bucket-1', 'gs', 'bucket-1', ''],
    ['file:///var/data/plays', 'file', '', '/var/data/plays'],
    ['s3://b-1/caf%C3%A9%20menu', 's3', 'b-1', 'café menu'],
    ['file://examples/plays-daily', 'file', 'examples', 'plays-daily'],
    ['file://targets', 'file', 'targets', ''],
  ])('parses %s', (uri, scheme, bucket, path) => {
    expect(parseLocation(uri)).toMatchObject({ scheme, bucket, path });
  });

  it.each([
    ['', /non-empty/],
    ['plays', /not a URI/],
    ['http://example.com/x', /scheme 'http' is not supported/],
    ['s3://Bad_Bucket/x', /bucket name/],
    ['s3://bucket/../other', /'\.\.'/],
    ['s3://bucket/a/%2e%2e/b', /'\.\.'/],
    ['file:///', /must name a folder/],
    ['file://Host.Name/data', /file:\/\/\/absolute/],
    ['file://examples/../etc', /'\.\.'/],
    ['file:///data/./x', /'\.'/],
    ['s3://bucket/a%00b', /control characters/],
    ['gs://bucket/a%ZZ', /percent-encoding/],
  ])('refuses %s', (uri, message) => {
    expect(() => parseLocation(uri)).toThrow(message);
  });
});

describe('validateKey', () => {
  it('accepts unicode and spaces', () => {
    expect(validateKey('año 2026/plays ♫.csv')).toBe('año 2026/plays ♫.csv');
  });
  it.each(['../x', 'a/../../b', '/etc/passwd', 'a//b', 'a\\b', ''])(
    'refuses %j',
    key => {
      expect(() => validateKey(key)).toThrow();
    },
  );
});

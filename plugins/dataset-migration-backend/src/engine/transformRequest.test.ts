import { InputError } from '@backstage/errors';
import type { DatasetInfo } from '../service/types';
import { resolveTransformRequest } from './transformRequest';

const dataset = (over: Partial<DatasetInfo> = {}): DatasetInfo => ({
  ref: 'resource:default/orders',
  location: 'file://data/orders',
  format: 'csv',
  consumers: [],
  ...over,
});
const target = { location: 'file://data/out' };

describe('resolveTransformRequest', () => {
  it('prefers the request’s mapping, else reads the entity’s annotation (YAML or JSON)', () => {
    const fromRequest = resolveTransformRequest(
      { target, mapping: { format: 'parquet' } },
      dataset({ mappingText: 'format: ndjson' }),
    );
    expect(fromRequest).toMatchObject({
      mappingSource: 'request',
      sourceFormat: 'csv',
      targetFormat: 'parquet',
    });
    expect(fromRequest.targetKey('2026/01.csv')).toBe('2026/01.parquet');
    expect(fromRequest.targetKey('_SUCCESS')).toBe('_SUCCESS');

    for (const text of [
      'format: ndjson\nkeys: [id]',
      '{"format":"ndjson","keys":["id"]}',
    ]) {
      const fromEntity = resolveTransformRequest(
        { target },
        dataset({ mappingText: text }),
      );
      expect(fromEntity).toMatchObject({
        mappingSource: 'entity',
        targetFormat: 'ndjson',
        mapping: { format: 'ndjson', keys: ['id'] },
      });
    }
  });

  it('defaults the target format to the request’s, then the source’s', () => {
    expect(
      resolveTransformRequest(
        { target: { ...target, format: 'ndjson' }, mapping: {} },
        dataset(),
      ).mapping.format,
    ).toBe('ndjson');
    expect(
      resolveTransformRequest({ target, mapping: {} }, dataset()).targetFormat,
    ).toBe('csv');
  });

  it.each<[string, Parameters<typeof resolveTransformRequest>, RegExp]>([
    [
      'a dataset that is not tabular',
      [{ target, mapping: {} }, dataset({ format: 'binary' })],
      /needs a tabular dataset \(csv, ndjson, parquet\); resource:default\/orders is 'binary'/,
    ],
    [
      'a dataset of unknown format',
      [{ target, mapping: {} }, dataset({ format: undefined })],
      /of unknown format \(set the 'dataset-migration.io\/format' annotation\)/,
    ],
    [
      'no mapping anywhere',
      [{ target }, dataset()],
      /needs a mapping: give one in the request, or in the 'dataset-migration.io\/mapping' annotation/,
    ],
    [
      'an annotation that is not YAML',
      [{ target }, dataset({ mappingText: 'fields: [' })],
      /annotation of resource:default\/orders is not YAML or JSON/,
    ],
    [
      'an annotation that is not a mapping',
      [{ target }, dataset({ mappingText: 'renames: {a: b}\nbadRows: maybe' })],
      /annotation of resource:default\/orders is not a valid mapping: .*badRows: /,
    ],
    [
      'a target format that contradicts the mapping',
      [
        {
          target: { ...target, format: 'csv' },
          mapping: { format: 'parquet' },
        },
        dataset(),
      ],
      /target format 'csv' contradicts the mapping's format 'parquet'/,
    ],
    [
      'a binary target format',
      [{ target: { ...target, format: 'binary' }, mapping: {} }, dataset()],
      /target format 'binary' is not one of them/,
    ],
  ])('refuses %s with a 400 that says what to change', (_, args, message) => {
    expect(() => resolveTransformRequest(...args)).toThrow(InputError);
    expect(() => resolveTransformRequest(...args)).toThrow(message);
  });
});

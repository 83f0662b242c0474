import { mappingSchema, parseCastType } from './mapping';

describe('mappingSchema', () => {
  it('keeps a mapping as written (the engine applies the defaults)', () => {
    expect(mappingSchema.parse({ drop: ['ip'] })).toEqual({ drop: ['ip'] });
  });

  it('accepts every cast, a filter of each kind and keys', () => {
    const mapping = mappingSchema.parse({
      format: 'parquet',
      fields: [
        { from: 'id', to: 'order_id', cast: 'bigint' },
        { to: 'amount', cast: 'decimal(12,2)' },
        { to: 'created', cast: 'timestamp' },
        { to: 'day', cast: 'date' },
        { to: 'qty', cast: 'integer', default: 0 },
        { to: 'ratio', cast: 'float' },
        { to: 'ok', cast: 'boolean' },
        { to: 'note', cast: 'string', default: '' },
      ],
      drop: ['internal'],
      filter: [
        { column: 'status', op: 'ne', value: 'cancelled' },
        { column: 'country', in: ['SE', 'DE'] },
        { column: 'region', notIn: ['test'] },
        { column: 'deleted_at', isNull: true },
      ],
      keys: ['id'],
      badRows: 'quarantine',
      sampleSize: 5,
    });
    expect(mapping.fields).toHaveLength(8);
    expect(mapping.filter).toHaveLength(4);
  });

  const invalid: Array<[unknown, string]> = [
    [{ fields: [{ to: 'a', cast: 'decimal(40,2)' }] }, 'decimal(p,s)'],
    [{ fields: [{ to: 'a', cast: 'varchar' }] }, 'must be one of'],
    [{ fields: [{ to: 'a', rename: 'b' }] }, 'Unrecognized key'],
    [{ filter: [{ column: 'a', op: 'like', value: 'x' }] }, 'Invalid'],
    [{ fields: [{ to: 'a' }, { from: 'b', to: 'a' }] }, 'produced twice'],
    [{ fields: [{ to: 'a' }], drop: ['a'] }, 'both mapped and dropped'],
    [{ fields: [{ to: 'bad\nname' }] }, 'control characters'],
    [{ format: 'xlsx' }, 'expected one of'],
  ];
  it.each(invalid.map(([input, message]) => ({ input, message })))(
    'rejects an invalid mapping with "$message"',
    ({ input, message }) => {
      const result = mappingSchema.safeParse(input);
      expect(result.success).toBe(false);
      expect(JSON.stringify(result.error?.issues)).toContain(message);
    },
  );
});

describe('parseCastType', () => {
  it('parses decimals and refuses scale above precision', () => {
    expect(parseCastType('decimal(12,2)')).toEqual({
      kind: 'decimal',
      precision: 12,
      scale: 2,
    });
    expect(parseCastType('decimal(2,3)')).toBeUndefined();
    expect(parseCastType('bigint')).toEqual({ kind: 'bigint' });
  });
});

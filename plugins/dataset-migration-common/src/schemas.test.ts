import { createMigrationRequestSchema } from './schemas';
import { migrationEntityV1alpha1Validator } from './migrationEntity';

describe('createMigrationRequestSchema', () => {
  const valid = {
    dataset: 'resource:default/plays',
    target: { location: 'gs://analytics/plays' },
  };

  it('defaults the strategy to bulk-copy', () => {
    expect(createMigrationRequestSchema.parse(valid).strategy).toBe(
      'bulk-copy',
    );
  });

  it('rejects unknown fields', () => {
    const result = createMigrationRequestSchema.safeParse({
      ...valid,
      credentials: 'secret',
    });
    expect(result.success).toBe(false);
  });

  it('rejects traversal in the target location', () => {
    const result = createMigrationRequestSchema.safeParse({
      ...valid,
      target: { location: 's3://bucket/../x' },
    });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain("'..'");
  });

  it('leaves a schema-transform without a mapping to the dataset annotation, but checks a given one', () => {
    expect(
      createMigrationRequestSchema.safeParse({
        ...valid,
        strategy: 'schema-transform',
      }).success,
    ).toBe(true);
    const result = createMigrationRequestSchema.safeParse({
      ...valid,
      strategy: 'schema-transform',
      mapping: { renames: {} },
    });
    expect(result.error?.issues[0].path).toEqual(['mapping']);
  });

  it.each([0, -1, 1e9, 1.5])('rejects concurrency %p', concurrency => {
    expect(
      createMigrationRequestSchema.safeParse({
        ...valid,
        options: { concurrency },
      }).success,
    ).toBe(false);
  });
});

describe('migrationEntityV1alpha1Validator', () => {
  const entity = {
    apiVersion: 'dataset-migration.io/v1alpha1',
    kind: 'Migration',
    metadata: { name: 'plays-to-gcs' },
    spec: {
      source: 'resource:default/plays',
      target: { location: 'gs://analytics/plays' },
      strategy: 'bulk-copy',
      owner: 'group:default/data-platform',
    },
  };

  it('accepts a valid Migration', async () => {
    await expect(migrationEntityV1alpha1Validator.check(entity)).resolves.toBe(
      true,
    );
  });

  it('ignores other kinds', async () => {
    await expect(
      migrationEntityV1alpha1Validator.check({ ...entity, kind: 'Component' }),
    ).resolves.toBe(false);
  });

  it('explains a malformed spec', async () => {
    await expect(
      migrationEntityV1alpha1Validator.check({
        ...entity,
        spec: { ...entity.spec, strategy: 'teleport' },
      }),
    ).rejects.toThrow(/spec\.strategy/);
  });
});

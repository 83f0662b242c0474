import type { Entity } from '@backstage/catalog-model';
import {
  MIGRATION_API_VERSION,
  MIGRATION_KIND,
  MigrationEntityV1alpha1,
} from '@internal/backstage-plugin-dataset-migration-common';
import { MigrationEntitiesProcessor } from './MigrationEntitiesProcessor';

const location = { type: 'url', target: 'https://example.com/migration.yaml' };

const migration: MigrationEntityV1alpha1 = {
  apiVersion: MIGRATION_API_VERSION,
  kind: MIGRATION_KIND,
  metadata: { name: 'plays-to-s3', namespace: 'analytics' },
  spec: {
    source: 'resource:default/plays',
    target: { location: 's3://archive/plays', format: 'parquet' },
    strategy: 'bulk-copy',
    owner: 'user:default/jane',
  },
};

describe('MigrationEntitiesProcessor', () => {
  const processor = new MigrationEntitiesProcessor();

  describe('validateEntityKind', () => {
    it('accepts a well-formed Migration', async () => {
      await expect(processor.validateEntityKind(migration)).resolves.toBe(true);
    });

    it('leaves other kinds and api versions to other processors', async () => {
      await expect(
        processor.validateEntityKind({ ...migration, kind: 'Component' }),
      ).resolves.toBe(false);
      await expect(
        processor.validateEntityKind({
          ...migration,
          apiVersion: 'backstage.io/v1alpha1',
        }),
      ).resolves.toBe(false);
    });

    it('rejects a malformed spec naming every bad field', async () => {
      const bad: Entity = {
        ...migration,
        spec: {
          source: '',
          target: { location: 's3://archive/plays', format: 'xlsx' },
          strategy: 'teleport',
          owner: 'user:default/jane',
        },
      };
      const check = processor.validateEntityKind(bad);
      await expect(check).rejects.toThrow(/Invalid Migration entity/);
      await expect(check).rejects.toThrow(/spec\.source/);
      await expect(check).rejects.toThrow(/spec\.target\.format/);
      await expect(check).rejects.toThrow(/spec\.strategy/);
    });

    it('rejects a spec without an owner', async () => {
      const { owner: _owner, ...spec } = migration.spec;
      await expect(
        processor.validateEntityKind({ ...migration, spec }),
      ).rejects.toThrow(/spec\.owner/);
    });

    it('rejects live status written into the spec', async () => {
      await expect(
        processor.validateEntityKind({
          ...migration,
          spec: { ...migration.spec, state: 'running' },
        }),
      ).rejects.toThrow(/state/);
    });
  });

  describe('postProcessEntity', () => {
    it('relates the migration to its source dataset and its owner', async () => {
      const emit = jest.fn();
      await expect(
        processor.postProcessEntity(migration, location, emit),
      ).resolves.toBe(migration);

      const self = {
        kind: 'Migration',
        namespace: 'analytics',
        name: 'plays-to-s3',
      };
      const dataset = { kind: 'resource', namespace: 'default', name: 'plays' };
      const owner = { kind: 'user', namespace: 'default', name: 'jane' };
      expect(emit.mock.calls.map(([result]) => result)).toEqual([
        {
          type: 'relation',
          relation: { source: self, type: 'migrationOf', target: dataset },
        },
        {
          type: 'relation',
          relation: { source: dataset, type: 'hasMigration', target: self },
        },
        {
          type: 'relation',
          relation: { source: self, type: 'ownedBy', target: owner },
        },
        {
          type: 'relation',
          relation: { source: owner, type: 'ownerOf', target: self },
        },
      ]);
    });

    it('defaults short refs to Resource / Group in the migration namespace', async () => {
      const emit = jest.fn();
      await processor.postProcessEntity(
        {
          ...migration,
          spec: { ...migration.spec, source: 'plays', owner: 'data-platform' },
        },
        location,
        emit,
      );
      const targets = emit.mock.calls
        .map(([result]) => result.relation)
        .filter(r => r.type === 'migrationOf' || r.type === 'ownedBy')
        .map(r => r.target);
      expect(targets).toEqual([
        { kind: 'Resource', namespace: 'analytics', name: 'plays' },
        { kind: 'Group', namespace: 'analytics', name: 'data-platform' },
      ]);
    });

    it('reports an unparseable source ref as an input error', async () => {
      const emit = jest.fn();
      await processor.postProcessEntity(
        {
          ...migration,
          spec: { ...migration.spec, source: 'resource:/plays' },
        },
        location,
        emit,
      );
      const errors = emit.mock.calls
        .map(([result]) => result)
        .filter(r => r.type === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0].error.message).toMatch(
        /invalid spec\.source 'resource:\/plays'/,
      );
      expect(
        emit.mock.calls.filter(([r]) => r.relation?.type === 'ownedBy'),
      ).toHaveLength(1);
    });

    it('ignores entities of other kinds', async () => {
      const emit = jest.fn();
      const component = { ...migration, kind: 'Component' };
      await expect(
        processor.postProcessEntity(component, location, emit),
      ).resolves.toBe(component);
      expect(emit).not.toHaveBeenCalled();
    });
  });
});

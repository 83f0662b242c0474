import { migrationEntityName, ownerFromCreatedBy } from './migrationToEntity';

const dataset = (name: string) => ({
  kind: 'Resource',
  namespace: 'default',
  name,
});

describe('migrationEntityName', () => {
  it('joins the dataset name and a DNS-safe id', () => {
    expect(migrationEntityName(dataset('Plays_2024.v2'), 'abc-123')).toBe(
      'plays-2024-v2-abc-123',
    );
  });

  it('stays within 63 characters by shortening the dataset part', () => {
    const id = '0b7e3c9a-1d2f-4e5a-9b8c-7d6e5f4a3b2c';
    const name = migrationEntityName(dataset('x'.repeat(100)), id);
    expect(name).toHaveLength(63);
    expect(name.endsWith(`-${id}`)).toBe(true);
    expect(name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it('hashes ids that are not DNS-label safe so distinct ids stay distinct', () => {
    const a = migrationEntityName(dataset('plays'), 'A_b');
    const b = migrationEntityName(dataset('plays'), 'a-b');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^plays-[0-9a-f]{16}$/);
    expect(migrationEntityName(dataset('plays'), 'x'.repeat(200))).toMatch(
      /^plays-[0-9a-f]{16}$/,
    );
  });

  it('falls back to a generic prefix when nothing of the dataset name survives', () => {
    expect(migrationEntityName(dataset('___'), 'm1')).toBe('migration-m1');
  });
});

describe('ownerFromCreatedBy', () => {
  it('accepts users and groups, normalising the ref', () => {
    expect(ownerFromCreatedBy('user:default/jane')).toBe('user:default/jane');
    expect(ownerFromCreatedBy('jane')).toBe('user:default/jane');
    expect(ownerFromCreatedBy('group:data/platform')).toBe(
      'group:data/platform',
    );
  });

  it('rejects service principals and garbage', () => {
    expect(ownerFromCreatedBy('plugin:scaffolder')).toBeUndefined();
    expect(ownerFromCreatedBy('')).toBeUndefined();
  });
});

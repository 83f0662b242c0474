import { humanizeActor, isEntityActor } from './humanizeActor';

describe('humanizeActor', () => {
  it('shows users by name, with the namespace only when it is not the default', () => {
    expect(humanizeActor('user:default/ana')).toBe('ana');
    expect(humanizeActor('user:finance/ana')).toBe('finance/ana');
    expect(humanizeActor('group:default/data-platform')).toBe('data-platform');
  });

  it('marks the engine as automatic and leaves what it cannot parse as it is', () => {
    expect(humanizeActor('system:dataset-migration-engine')).toBe(
      'dataset-migration-engine (automatic)',
    );
    expect(humanizeActor('')).toBe('');
  });

  it('links users and groups only', () => {
    expect(isEntityActor('user:default/ana')).toBe(true);
    expect(isEntityActor('Group:default/data')).toBe(true);
    expect(isEntityActor('system:dataset-migration-engine')).toBe(false);
  });
});

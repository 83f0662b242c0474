import {
  MIGRATION_ACTIONS,
  MIGRATION_ACTION_RULES,
  MIGRATION_TRANSITIONS,
  actionAppliesTo,
  canTransition,
} from './stateMachine';
import {
  FINAL_MIGRATION_STATES,
  MIGRATION_STATES,
  type MigrationState,
} from './types';

/** Where the user actions can take a migration that is in `state`. */
function actionTargets(state: MigrationState): MigrationState[] {
  return MIGRATION_ACTIONS.filter(a => actionAppliesTo(a, state)).flatMap(a => [
    ...MIGRATION_ACTION_RULES[a].to,
  ]);
}

describe('MIGRATION_TRANSITIONS', () => {
  it('has one entry per state and leads only to known states', () => {
    expect(Object.keys(MIGRATION_TRANSITIONS).sort()).toEqual(
      [...MIGRATION_STATES].sort(),
    );
    for (const targets of Object.values(MIGRATION_TRANSITIONS)) {
      for (const to of targets) {
        expect(MIGRATION_STATES).toContain(to);
      }
    }
  });

  it('reaches every state from planned', () => {
    const seen = new Set<MigrationState>(['planned']);
    const todo: MigrationState[] = ['planned'];
    while (todo.length) {
      for (const to of MIGRATION_TRANSITIONS[todo.pop()!]) {
        if (!seen.has(to)) {
          seen.add(to);
          todo.push(to);
        }
      }
    }
    expect([...seen].sort()).toEqual([...MIGRATION_STATES].sort());
  });

  it('lets a final state be left only through a user action', () => {
    // FINAL_MIGRATION_STATES are the ones no worker leaves on its own: each
    // way out must be an action that applies there, and nothing else.
    for (const state of FINAL_MIGRATION_STATES) {
      expect({ state, to: [...MIGRATION_TRANSITIONS[state]].sort() }).toEqual({
        state,
        to: [...new Set(actionTargets(state))].sort(),
      });
    }
  });

  it('has no way out of a final state that cannot be rolled back', () => {
    const stuck = FINAL_MIGRATION_STATES.filter(
      s => !actionAppliesTo('rollback', s),
    );
    expect(stuck).toEqual(['rolled-back']);
    for (const state of stuck) {
      expect({ state, to: MIGRATION_TRANSITIONS[state] }).toEqual({
        state,
        to: [],
      });
    }
  });

  it('lets a rollback only finish', () => {
    expect(MIGRATION_TRANSITIONS['rolling-back']).toEqual(['rolled-back']);
  });
});

describe('MIGRATION_ACTION_RULES', () => {
  it('has a rule for each action and nothing else', () => {
    expect(Object.keys(MIGRATION_ACTION_RULES).sort()).toEqual(
      [...MIGRATION_ACTIONS].sort(),
    );
  });

  it.each(MIGRATION_ACTIONS)(
    'only makes moves the transition table allows (%s)',
    action => {
      const { from, to } = MIGRATION_ACTION_RULES[action];
      expect(from.length).toBeGreaterThan(0);
      expect(to.length).toBeGreaterThan(0);
      for (const f of from) {
        for (const t of to) {
          expect({
            action,
            from: f,
            to: t,
            allowed: canTransition(f, t),
          }).toEqual({ action, from: f, to: t, allowed: true });
        }
      }
    },
  );

  it('applies each action exactly in the states of its rule', () => {
    for (const action of MIGRATION_ACTIONS) {
      expect(MIGRATION_STATES.filter(s => actionAppliesTo(action, s))).toEqual(
        MIGRATION_STATES.filter(s =>
          MIGRATION_ACTION_RULES[action].from.includes(s),
        ),
      );
    }
    expect(actionAppliesTo('cancel', 'running')).toBe(true);
    expect(actionAppliesTo('cancel', 'rolling-back')).toBe(false);
    expect(actionAppliesTo('approve', 'queued')).toBe(false);
    expect(actionAppliesTo('retry', 'succeeded')).toBe(false);
    expect(actionAppliesTo('rollback', 'rolled-back')).toBe(false);
  });
});

describe('canTransition', () => {
  it.each<[MigrationState, MigrationState]>([
    ['queued', 'running'],
    ['running', 'succeeded'],
    ['failed', 'rolling-back'],
    ['cancelled', 'awaiting-approval'],
    ['rolling-back', 'rolled-back'],
  ])('allows %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
  });

  it.each<[MigrationState, MigrationState]>([
    ['running', 'queued'],
    ['running', 'awaiting-approval'],
    ['rolling-back', 'cancelled'],
    ['rolling-back', 'failed'],
    ['succeeded', 'running'],
    ['succeeded', 'failed'],
    ['rolled-back', 'rolling-back'],
    ['rolled-back', 'queued'],
    ['planned', 'succeeded'],
    ['queued', 'queued'],
  ])('refuses %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
  });
});

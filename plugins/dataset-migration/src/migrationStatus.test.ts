import type { StepProgress } from '@internal/backstage-plugin-dataset-migration-common';
import { makeMigration } from './__testUtils__/FakeDatasetMigrationApi';
import {
  mayHaveWritten,
  neverStarted,
  reportMayExist,
  visibleSteps,
} from './migrationStatus';

const ZERO: StepProgress = {
  totalItems: 0,
  doneItems: 0,
  failedItems: 0,
  totalBytes: 0,
  doneBytes: 0,
};
const SIX: StepProgress = { ...ZERO, totalItems: 6, doneItems: 6 };

describe('migrationStatus', () => {
  it('tells a migration that never ran from one that may have written', () => {
    const atReview = makeMigration({
      state: 'cancelled',
      step: undefined,
      progress: { ...ZERO, steps: {} },
    });
    expect(mayHaveWritten(atReview)).toBe(false);
    expect(neverStarted(atReview)).toBe(true);

    // Failed in preflight: it ran (a retry re-queues it) but wrote nothing.
    const preflight = { ...atReview, state: 'failed' as const };
    preflight.stepStartedAt = '2026-11-21T10:00:00.000Z';
    expect(mayHaveWritten(preflight)).toBe(false);
    expect(neverStarted(preflight)).toBe(false);

    // Snapshotted: items exist, workers may have written some.
    const copying = makeMigration({
      state: 'cancelled',
      progress: { ...ZERO, steps: { copy: { ...ZERO, totalItems: 6 } } },
    });
    expect(mayHaveWritten(copying)).toBe(true);
    // A backend without per-step counters: the totals tell.
    expect(mayHaveWritten(makeMigration({ state: 'cancelled' }))).toBe(true);
  });

  it('asks for a report only when validation may have stored one', () => {
    const withSteps = (steps: object) => ({ ...ZERO, steps });
    const cases: Array<[Parameters<typeof makeMigration>[0], boolean]> = [
      [{ state: 'awaiting-approval', step: undefined }, false],
      [{ state: 'running', step: 'copy' }, false],
      [{ state: 'running', step: 'validate' }, false],
      [{ state: 'running', step: 'cutover' }, true],
      [{ state: 'succeeded', step: undefined }, true],
      [{ state: 'failed', progress: withSteps({ copy: SIX }) }, false],
      [
        { state: 'failed', progress: withSteps({ copy: SIX, validate: SIX }) },
        true,
      ],
      [{ state: 'cancelled', step: undefined }, false],
      [
        {
          state: 'rolling-back',
          progress: withSteps({ copy: SIX, rollback: SIX }),
        },
        false,
      ],
      [
        {
          state: 'rolling-back',
          cutoverAt: '2026-11-21T10:00:00.000Z',
          progress: withSteps({ copy: SIX, rollback: SIX }),
        },
        true,
      ],
      [
        {
          state: 'rolled-back',
          progress: withSteps({ copy: SIX, rollback: SIX }),
        },
        true,
      ],
    ];
    for (const [overrides, expected] of cases) {
      expect([overrides, reportMayExist(makeMigration(overrides))]).toEqual([
        overrides,
        expected,
      ]);
    }
  });

  it('shows only the rollback’s numbers once a rollback began', () => {
    const steps = { copy: SIX, validate: SIX, rollback: SIX };
    expect(
      visibleSteps(
        makeMigration({ state: 'succeeded', progress: { ...SIX, steps } }),
      ).map(s => s.step),
    ).toEqual(['copy', 'validate', 'rollback']);
    expect(
      visibleSteps(
        makeMigration({ state: 'rolled-back', progress: { ...SIX, steps } }),
      ).map(s => s.step),
    ).toEqual(['rollback']);
    // Without per-step counters the totals are filed under the current stage.
    expect(
      visibleSteps(makeMigration({ state: 'running', step: 'validate' })),
    ).toEqual([{ step: 'validate', progress: expect.any(Object) }]);
  });
});

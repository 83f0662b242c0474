import { render, screen, within } from '@testing-library/react';
import { makeMigration } from '../../__testUtils__/FakeDatasetMigrationApi';
import { MigrationProgress, throughput } from './MigrationProgress';

const MiB = 1024 ** 2;
const NOW = Date.parse('2026-11-21T10:10:00.000Z');
const TWO_MINUTES_AGO = '2026-11-21T10:08:00.000Z';

describe('MigrationProgress', () => {
  it('measures the running step since it began and says how long is left', () => {
    const step = {
      totalItems: 40,
      doneItems: 10,
      failedItems: 0,
      totalBytes: 480 * MiB,
      doneBytes: 120 * MiB,
    };
    // 120 MiB in 120 s; 360 MiB to go.
    expect(throughput(step, TWO_MINUTES_AGO, NOW)).toBe(
      '1.0 MiB/s · about 6m left',
    );
    // Objects without sizes: by objects.
    expect(
      throughput(
        { ...step, totalBytes: 0, doneBytes: 0 },
        TWO_MINUTES_AGO,
        NOW,
      ),
    ).toBe('0.1 objects/s · about 6m left');
    expect(
      throughput({ ...step, doneBytes: step.totalBytes }, TWO_MINUTES_AGO, NOW),
    ).toBe('4.0 MiB/s · almost done');
    // Nothing done yet, or just begun: nothing to measure.
    expect(throughput({ ...step, doneBytes: 0 }, TWO_MINUTES_AGO, NOW)).toBe(
      undefined,
    );
    expect(throughput(step, new Date(NOW).toISOString(), NOW)).toBe(undefined);
  });

  it('shows a bar per step, failures, and the rate of the running one only', () => {
    render(
      <MigrationProgress
        now={NOW}
        migration={makeMigration({
          strategy: 'schema-transform',
          state: 'running',
          step: 'validate',
          stepStartedAt: TWO_MINUTES_AGO,
          progress: {
            totalItems: 4,
            doneItems: 2,
            failedItems: 1,
            totalBytes: 240 * MiB,
            doneBytes: 120 * MiB,
            steps: {
              copy: {
                totalItems: 4,
                doneItems: 4,
                failedItems: 0,
                totalBytes: 240 * MiB,
                doneBytes: 240 * MiB,
              },
              validate: {
                totalItems: 4,
                doneItems: 2,
                failedItems: 1,
                totalBytes: 240 * MiB,
                doneBytes: 120 * MiB,
              },
            },
          },
        })}
      />,
    );

    // A schema-transform's copy stage is the transform.
    const transform = within(screen.getByTestId('step-transform'));
    expect(
      transform.getByText('4 / 4 objects · 240 MiB / 240 MiB (100%)'),
    ).toBeInTheDocument();
    expect(transform.queryByText(/\/s/)).toBeNull();
    const validate = within(screen.getByTestId('step-validate'));
    expect(validate.getByText('Validate (running)')).toBeInTheDocument();
    expect(validate.getByText('1.0 MiB/s · about 2m left')).toBeInTheDocument();
    expect(validate.getByText('1 failed')).toBeInTheDocument();
  });

  it('says what is planned before any step began', () => {
    render(
      <MigrationProgress
        migration={makeMigration({
          state: 'queued',
          step: undefined,
          progress: {
            totalItems: 0,
            doneItems: 0,
            failedItems: 0,
            totalBytes: 0,
            doneBytes: 0,
            steps: {},
          },
        })}
      />,
    );
    expect(
      screen.getByText('Planned: 1,234 objects, 5.0 GiB; nothing copied yet.'),
    ).toBeInTheDocument();
    expect(screen.queryByRole('progressbar')).toBeNull();
  });
});

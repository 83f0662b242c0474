import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  AuthorizeResult,
  type EvaluatePermissionRequest,
} from '@backstage/plugin-permission-common';
import type { ReactNode } from 'react';
import type { StepProgress } from '@internal/backstage-plugin-dataset-migration-common';
import {
  DATASET_REF,
  FakeDatasetMigrationApi,
  makeMigration,
  makePlan,
  makeReport,
  makeTransform,
} from '../../__testUtils__/FakeDatasetMigrationApi';
import { datasetEntity, renderWithApis } from '../../__testUtils__/render';
import { DatasetMigrationCard } from './DatasetMigrationCard';

// The <AutoSizer> inside <LogViewer> needs mocking to render in jsdom
jest.mock('react-virtualized-auto-sizer', () => ({
  __esModule: true,
  default: (props: {
    children: (size: { width: number; height: number }) => ReactNode;
  }) => <>{props.children({ width: 400, height: 200 })}</>,
}));

const MiB = 1024 ** 2;

function counters(total: number, done: number, mib = 1): StepProgress {
  return {
    totalItems: total,
    doneItems: done,
    failedItems: 0,
    totalBytes: total * mib * MiB,
    doneBytes: done * mib * MiB,
  };
}

const NOTHING = counters(0, 0);

describe('DatasetMigrationCard', () => {
  it('shows the effective location, format and the latest migration with its progress', async () => {
    const api = new FakeDatasetMigrationApi();
    api.location = {
      entityRef: DATASET_REF,
      location: 'gs://archive/plays-v1',
      migratedBy: 'm-0',
    };
    api.migrations = [
      makeMigration({
        id: 'm-0',
        state: 'succeeded',
        createdAt: '2026-11-01T00:00:00.000Z',
      }),
      makeMigration({ id: 'm-1', state: 'running', step: 'copy' }),
    ];

    renderWithApis(<DatasetMigrationCard pollIntervalMs={60_000} />, {
      api,
      entity: datasetEntity,
    });

    // The API's location wins over the annotation (s3://raw/plays).
    expect(
      await screen.findByText('gs://archive/plays-v1'),
    ).toBeInTheDocument();
    expect(screen.getByText('moved here by migration m-0')).toBeInTheDocument();
    expect(screen.getByText('Format: csv')).toBeInTheDocument();
    const latest = within(screen.getByTestId('latest-migration'));
    expect(latest.getByTestId('migration-state')).toHaveTextContent('running');
    expect(screen.getByText('step: copy')).toBeInTheDocument();
    expect(screen.getByText(/^started by/)).toHaveTextContent(
      /^started by ada on/,
    );
    // A backend without per-step counters: the numbers are the copy's.
    expect(
      screen.getByText('50 / 200 objects · 2.9 KiB / 3.9 KiB (75%)'),
    ).toBeInTheDocument();
    expect(screen.getByRole('progressbar', { name: 'Copy' })).toHaveAttribute(
      'aria-valuenow',
      '75',
    );
    expect(api.callsTo('listMigrations')[0].args[0]).toMatchObject({
      dataset: DATASET_REF,
    });
    // A running migration can be cancelled, not rolled back or re-planned.
    expect(screen.getByRole('button', { name: 'Cancel' })).toBeEnabled();
    expect(screen.getByRole('button', { name: 'Rollback' })).toBeDisabled();
    expect(screen.getByRole('button', { name: 'Migrate' })).toBeDisabled();
  });

  it('gives the format the cutover left, not the older annotation', async () => {
    const api = new FakeDatasetMigrationApi();
    api.location = {
      entityRef: DATASET_REF,
      location: 'gs://archive/plays-parquet',
      migratedBy: 'm-1',
    };
    api.migrations = [
      makeMigration({
        state: 'succeeded',
        step: undefined,
        strategy: 'schema-transform',
        target: { location: 'gs://archive/plays-parquet', format: 'parquet' },
      }),
    ];

    renderWithApis(<DatasetMigrationCard pollIntervalMs={60_000} />, {
      api,
      entity: datasetEntity,
    });

    expect(await screen.findByText('Format: parquet')).toBeInTheDocument();
  });

  it('falls back to the annotation and says so when the dataset was never migrated', async () => {
    const api = new FakeDatasetMigrationApi();
    api.getDatasetLocation = async () => {
      throw new Error('backend unavailable');
    };

    renderWithApis(<DatasetMigrationCard pollIntervalMs={60_000} />, {
      api,
      entity: datasetEntity,
    });

    expect(
      await screen.findByText('This dataset has not been migrated yet.'),
    ).toBeInTheDocument();
    expect(screen.getByTestId('dataset-location')).toHaveTextContent(
      's3://raw/plays',
    );
    expect(await screen.findByText(/backend unavailable/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Migrate' })).toBeEnabled();
    expect(screen.queryByRole('button', { name: 'Rollback' })).toBeNull();
  });

  it('shows the validation report summary of the latest migration', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [makeMigration({ state: 'succeeded', step: undefined })];
    api.reports.set('m-1', {
      migrationId: 'm-1',
      passed: false,
      checkedAt: '2026-11-21T11:00:00.000Z',
      objects: { checked: 200, mismatched: 1, missing: 2 },
      manifest: {
        source: { count: 200, bytes: 4000, hash: 'a' },
        target: { count: 198, bytes: 3900, hash: 'b' },
        matches: false,
      },
      methods: { sha256: 200 },
      failures: [{ key: 'part-0007.csv', problem: 'sha256 differs' }],
    });

    renderWithApis(<DatasetMigrationCard pollIntervalMs={60_000} />, {
      api,
      entity: datasetEntity,
    });

    const report = await screen.findByTestId('validation-report');
    expect(within(report).getByText(/Validation failed/)).toBeInTheDocument();
    expect(
      within(report).getByText('200 objects checked, 1 mismatched, 2 missing'),
    ).toBeInTheDocument();
    expect(within(report).getByText('part-0007.csv')).toBeInTheDocument();
    expect(within(report).getByText(/sha256: 200/)).toBeInTheDocument();
  });

  it('asks for confirmation before rolling back, then calls rollback with the reason', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [makeMigration({ state: 'succeeded', step: undefined })];

    renderWithApis(<DatasetMigrationCard pollIntervalMs={60_000} />, {
      api,
      entity: datasetEntity,
    });

    await userEvent.click(
      await screen.findByRole('button', { name: 'Rollback' }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(
      within(dialog).getByText('Roll back this migration?'),
    ).toBeInTheDocument();
    expect(api.callsTo('rollbackMigration')).toHaveLength(0);

    // Backing out of the dialog does nothing.
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Keep it' }),
    );
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(api.callsTo('rollbackMigration')).toHaveLength(0);

    await userEvent.click(screen.getByRole('button', { name: 'Rollback' }));
    const again = await screen.findByRole('dialog');
    await userEvent.type(
      within(again).getByLabelText(/Reason/),
      'consumers broke',
    );
    await userEvent.click(
      within(again).getByRole('button', { name: 'Rollback' }),
    );

    await waitFor(() =>
      expect(api.callsTo('rollbackMigration')).toEqual([
        { method: 'rollbackMigration', args: ['m-1', 'consumers broke'] },
      ]),
    );
    expect(await screen.findByTestId('migration-state')).toHaveTextContent(
      'rolling-back',
    );
  });

  it('offers Retry and Rollback for a cancelled migration and retries without confirmation', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [
      makeMigration({
        state: 'cancelled',
        step: undefined,
        reason: 'Cancelled by user:default/ada',
      }),
    ];

    renderWithApis(<DatasetMigrationCard pollIntervalMs={60_000} />, {
      api,
      entity: datasetEntity,
    });

    expect(
      await screen.findByText('Cancelled by user:default/ada'),
    ).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Rollback' })).toBeEnabled();
    expect(screen.queryByRole('button', { name: 'Approve' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Cancel' })).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Retry' }));

    await waitFor(() =>
      expect(api.callsTo('retryMigration')).toEqual([
        { method: 'retryMigration', args: ['m-1', undefined] },
      ]),
    );
    expect(await screen.findByTestId('migration-state')).toHaveTextContent(
      'queued',
    );
    // Now in progress: no second migration may be started meanwhile.
    expect(screen.getByRole('button', { name: 'Migrate' })).toBeDisabled();
  });

  it('shows the API message when an action is refused', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [makeMigration({ state: 'awaiting-approval' })];
    api.approveMigration = async () => {
      const { apiError } = await import(
        '../../__testUtils__/FakeDatasetMigrationApi'
      );
      throw await apiError(
        409,
        'ConflictError',
        'source changed since the plan; plan again',
      );
    };

    renderWithApis(<DatasetMigrationCard pollIntervalMs={60_000} />, {
      api,
      entity: datasetEntity,
    });

    await userEvent.click(
      await screen.findByRole('button', { name: 'Approve' }),
    );
    expect(
      await screen.findByText(
        'Approve failed: source changed since the plan; plan again',
      ),
    ).toHaveAttribute('role', 'alert');
  });

  it('disables Migrate and Rollback, with the reason, when permission is denied', async () => {
    // Another entity than the other tests: usePermission caches answers (SWR)
    // by request, and this test must see its own.
    const entity = {
      ...datasetEntity,
      metadata: { ...datasetEntity.metadata, name: 'plays-restricted' },
    };
    const api = new FakeDatasetMigrationApi();
    api.migrations = [
      makeMigration({
        dataset: 'resource:default/plays-restricted',
        state: 'failed',
        step: undefined,
      }),
    ];
    const authorize = jest.fn((request: EvaluatePermissionRequest) =>
      request.permission.name === 'dataset-migration.migration.cancel'
        ? AuthorizeResult.ALLOW
        : AuthorizeResult.DENY,
    );

    renderWithApis(<DatasetMigrationCard pollIntervalMs={60_000} />, {
      api,
      entity,
      authorize,
    });

    const rollback = await screen.findByRole('button', { name: 'Rollback' });
    await userEvent.hover(rollback.parentElement!);
    expect(
      await screen.findByText(
        'You do not have permission to rollback migrations of this dataset',
      ),
    ).toBeInTheDocument();
    expect(rollback).toBeDisabled();
    expect(screen.getByRole('button', { name: 'Retry' })).toBeDisabled();
    const migrate = screen.getByRole('button', { name: 'Migrate' });
    expect(migrate).toBeDisabled();
    await userEvent.hover(migrate.parentElement!);
    expect(
      await screen.findByText(
        'You do not have permission to migrate this dataset',
      ),
    ).toBeInTheDocument();

    // Asked about this dataset, for each action.
    expect(authorize).toHaveBeenCalledWith(
      expect.objectContaining({
        permission: expect.objectContaining({
          name: 'dataset-migration.migration.rollback',
        }),
        resourceRef: 'resource:default/plays-restricted',
      }),
    );
    expect(authorize).toHaveBeenCalledWith(
      expect.objectContaining({
        permission: expect.objectContaining({
          name: 'dataset-migration.migration.create',
        }),
        resourceRef: 'resource:default/plays-restricted',
      }),
    );
    // Clicking anyway (past the disabled styling) must not open the dialog.
    await userEvent.setup({ pointerEventsCheck: 0 }).click(rollback);
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(api.callsTo('rollbackMigration')).toHaveLength(0);
  });

  it('shows the plan next to Approve while a migration awaits approval, not 0 / 0', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [
      makeMigration({
        state: 'awaiting-approval',
        step: undefined,
        strategy: 'schema-transform',
        plan: makePlan({ transform: makeTransform() }),
        progress: { ...NOTHING, steps: {} },
      }),
    ];

    renderWithApis(<DatasetMigrationCard pollIntervalMs={60_000} />, {
      api,
      entity: datasetEntity,
    });

    const plan = within(await screen.findByTestId('plan-preview'));
    expect(plan.getByText('1,234')).toBeInTheDocument();
    expect(plan.getByText('5.0 GiB')).toBeInTheDocument();
    expect(plan.getByText(/^3 existing target objects/)).toBeInTheDocument();
    expect(
      within(plan.getByTestId('plan-consumers')).getAllByRole('link'),
    ).toHaveLength(2);
    expect(plan.getByTestId('plan-schema-diff')).toBeInTheDocument();
    expect(
      screen.getByText(/^Nothing has been written yet\. Review the plan/),
    ).toHaveTextContent(/start transforming\.$/);
    expect(screen.getByRole('button', { name: 'Approve' })).toBeEnabled();
    expect(screen.getByRole('button', { name: 'Cancel' })).toBeEnabled();
    // No progress before anything ran, and nothing to roll back yet.
    expect(screen.queryByText(/0 \/ 0/)).toBeNull();
    expect(screen.queryByRole('progressbar')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Rollback' })).toBeNull();
    // Validation has not run, so no report is asked for.
    expect(api.callsTo('getReport')).toHaveLength(0);
  });

  it('shows each step with its counts and sizes, and the running step’s throughput and time left', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [
      makeMigration({
        state: 'running',
        step: 'validate',
        stepStartedAt: new Date(Date.now() - 10_000).toISOString(),
        progress: {
          ...counters(6, 3),
          steps: { copy: counters(6, 6), validate: counters(6, 3) },
        },
      }),
    ];

    renderWithApis(<DatasetMigrationCard pollIntervalMs={60_000} />, {
      api,
      entity: datasetEntity,
    });

    const copy = within(await screen.findByTestId('step-copy'));
    expect(
      copy.getByText('6 / 6 objects · 6.0 MiB / 6.0 MiB (100%)'),
    ).toBeInTheDocument();
    expect(copy.queryByText(/left$/)).toBeNull();
    const validate = within(screen.getByTestId('step-validate'));
    expect(validate.getByText('Validate (running)')).toBeInTheDocument();
    expect(
      validate.getByText('3 / 6 objects · 3.0 MiB / 6.0 MiB (50%)'),
    ).toBeInTheDocument();
    // 3 MiB in about 10 s: some 300 KiB/s, some 10 s to go.
    expect(
      validate.getByText(/^\d+ KiB\/s · about \d+s left$/),
    ).toBeInTheDocument();
    expect(screen.getByRole('progressbar', { name: 'Copy' })).toHaveAttribute(
      'aria-valuenow',
      '100',
    );
    expect(
      screen.getByRole('progressbar', { name: 'Validate' }),
    ).toHaveAttribute('aria-valuenow', '50');
    expect(api.callsTo('getReport')).toHaveLength(0);
  });

  it('after a rollback says what was undone and restored, without the success look', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [
      makeMigration({
        state: 'rolled-back',
        step: undefined,
        reason: 'consumers broke',
        cutoverAt: '2026-11-21T10:09:00.000Z',
        finishedAt: '2026-11-21T11:00:00.000Z',
        progress: {
          ...counters(6, 6),
          steps: { copy: counters(6, 6), rollback: counters(6, 6) },
        },
      }),
    ];
    api.reports.set('m-1', makeReport({ passed: true }));

    renderWithApis(<DatasetMigrationCard pollIntervalMs={60_000} />, {
      api,
      entity: datasetEntity,
    });

    const summary = await screen.findByTestId('rollback-summary');
    expect(within(summary).getByText(/^Rolled back on /)).toBeInTheDocument();
    expect(summary).toHaveTextContent(
      'What the migration wrote to gs://archive/plays was deleted and the 3 target object(s) it overwrote restored from their backups.',
    );
    expect(summary).toHaveTextContent(/points at s3:\/\/raw\/plays again\.$/);
    expect(screen.getByText('consumers broke')).toBeInTheDocument();
    // Only the rollback's own numbers: copy/validate at 100 % would mislead.
    expect(screen.getByRole('progressbar', { name: 'Rollback' })).toBeVisible();
    expect(screen.queryByRole('progressbar', { name: 'Copy' })).toBeNull();
    expect(
      await screen.findByTestId('report-before-rollback'),
    ).toHaveTextContent(/^Before the rollback, validation passed/);
    expect(screen.queryByTestId('validation-report')).toBeNull();
    expect(screen.queryByText(/^Validation passed/)).toBeNull();
    // Done: nothing more to roll back, nothing to retry.
    expect(screen.queryByRole('button', { name: 'Rollback' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Retry' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Migrate' })).toBeEnabled();
  });

  it('offers neither Rollback nor Retry for a migration cancelled at plan review', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [
      makeMigration({
        state: 'cancelled',
        step: undefined,
        reason: 'cancelled at plan review',
        finishedAt: '2026-11-21T10:01:00.000Z',
        progress: { ...NOTHING, steps: {} },
      }),
    ];

    renderWithApis(<DatasetMigrationCard pollIntervalMs={60_000} />, {
      api,
      entity: datasetEntity,
    });

    expect(
      await screen.findByText('cancelled at plan review'),
    ).toBeInTheDocument();
    expect(
      screen.getByText(/stopped before anything was written/),
    ).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Rollback' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Retry' })).toBeNull();
    expect(screen.queryByRole('progressbar')).toBeNull();
    expect(api.callsTo('getReport')).toHaveLength(0);
    expect(screen.getByRole('button', { name: 'Migrate' })).toBeEnabled();
  });

  it('asks for the report only once validation ran, taking a 404 as no report yet', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [makeMigration({ state: 'running', step: 'copy' })];

    renderWithApis(<DatasetMigrationCard pollIntervalMs={30} />, {
      api,
      entity: datasetEntity,
    });
    expect(await screen.findByText('step: copy')).toBeInTheDocument();
    expect(api.callsTo('getReport')).toHaveLength(0);

    // Validation passed, cutting over: the report may exist, but is not
    // stored yet (the fake answers undefined, as the client does for 404).
    api.migrations = [makeMigration({ state: 'running', step: 'cutover' })];
    await waitFor(() => expect(api.callsTo('getReport')).toHaveLength(1));
    expect(screen.queryByTestId('validation-report')).toBeNull();
    expect(screen.queryByText(/report/i)).toBeNull();

    api.reports.set('m-1', makeReport());
    api.migrations = [makeMigration({ state: 'succeeded', step: undefined })];
    expect(await screen.findByTestId('validation-report')).toHaveTextContent(
      /Validation passed/,
    );
    expect(api.callsTo('getReport')).toHaveLength(2);
  });

  it('lists the earlier migrations, newest first, linking each to its page', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [
      makeMigration({
        id: 'm-old',
        state: 'succeeded',
        step: undefined,
        target: { location: 'gs://archive/plays-v0' },
        createdAt: '2026-09-01T00:00:00.000Z',
        finishedAt: '2026-09-01T01:00:00.000Z',
      }),
      makeMigration({ id: 'm-1', state: 'running', step: 'copy' }),
      makeMigration({
        id: 'm-undone',
        state: 'rolled-back',
        step: undefined,
        target: { location: 'gs://archive/plays-v1' },
        createdAt: '2026-10-01T00:00:00.000Z',
      }),
    ];

    renderWithApis(<DatasetMigrationCard pollIntervalMs={60_000} />, {
      api,
      entity: datasetEntity,
    });

    const history = await screen.findByRole('list', {
      name: 'Earlier migrations',
    });
    const items = within(history).getAllByRole('listitem');
    expect(items).toHaveLength(2);
    expect(items[0]).toHaveTextContent('rolled-back');
    expect(items[0]).toHaveTextContent('to gs://archive/plays-v1');
    expect(within(items[0]).getByRole('link')).toHaveAttribute(
      'href',
      '/dataset-migrations/m-undone',
    );
    expect(items[1]).toHaveTextContent('succeeded');
    expect(within(items[1]).getByRole('link')).toHaveAttribute(
      'href',
      '/dataset-migrations/m-old',
    );
    // The latest one is the card's subject, with its own link.
    expect(screen.getByRole('link', { name: 'Details' })).toHaveAttribute(
      'href',
      '/dataset-migrations/m-1',
    );
  });
});

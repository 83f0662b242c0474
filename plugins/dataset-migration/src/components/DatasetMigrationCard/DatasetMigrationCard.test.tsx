import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  AuthorizeResult,
  type EvaluatePermissionRequest,
} from '@backstage/plugin-permission-common';
import type { ReactNode } from 'react';
import {
  DATASET_REF,
  FakeDatasetMigrationApi,
  makeMigration,
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
    expect(screen.getByTestId('migration-state')).toHaveTextContent('running');
    expect(screen.getByText('step: copy')).toBeInTheDocument();
    expect(
      screen.getByText(/started by user:default\/ada/),
    ).toBeInTheDocument();
    expect(screen.getByText('50 / 200 (25%)')).toBeInTheDocument();
    expect(
      screen.getByRole('progressbar', { name: 'Objects' }),
    ).toHaveAttribute('aria-valuenow', '25');
    expect(screen.getByRole('progressbar', { name: 'Bytes' })).toHaveAttribute(
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
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Approve failed: source changed since the plan; plan again',
    );
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
});

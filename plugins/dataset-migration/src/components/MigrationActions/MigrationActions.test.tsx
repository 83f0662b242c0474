import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { MigrationState } from '@internal/backstage-plugin-dataset-migration-common';
import type { DatasetPermissions } from '../../hooks/useDatasetPermissions';
import {
  FakeDatasetMigrationApi,
  makeMigration,
} from '../../__testUtils__/FakeDatasetMigrationApi';
import { renderWithApis } from '../../__testUtils__/render';
import { MigrationActions } from './MigrationActions';

const ALL_ALLOWED: DatasetPermissions = {
  create: true,
  approve: true,
  cancel: true,
  rollback: true,
  retry: true,
  loading: false,
};

/** A migration that copied some objects (so rollback and retry make sense). */
function touched(state: MigrationState) {
  return makeMigration({
    state,
    step: state === 'running' ? 'copy' : undefined,
    stepStartedAt: '2026-11-21T10:01:00.000Z',
  });
}

async function renderActions(
  migration = touched('running'),
  permissions = ALL_ALLOWED,
) {
  const api = new FakeDatasetMigrationApi();
  api.migrations = [migration];
  const onChange = jest.fn();
  await renderWithApis(
    <MigrationActions
      migration={migration}
      permissions={permissions}
      onChange={onChange}
    />,
    { api },
  );
  return { api, onChange };
}

function buttons(): { name: string; enabled: boolean }[] {
  return screen.queryAllByRole('button').map(b => ({
    name: b.textContent ?? '',
    enabled: !(b as HTMLButtonElement).disabled,
  }));
}

describe('MigrationActions', () => {
  it.each<[MigrationState, { name: string; enabled: boolean }[]]>([
    [
      'planned',
      [
        { name: 'Approve', enabled: true },
        { name: 'Cancel', enabled: true },
        { name: 'Rollback', enabled: false },
      ],
    ],
    [
      'queued',
      [
        { name: 'Cancel', enabled: true },
        { name: 'Rollback', enabled: false },
      ],
    ],
    [
      'running',
      [
        { name: 'Cancel', enabled: true },
        { name: 'Rollback', enabled: false },
      ],
    ],
    ['succeeded', [{ name: 'Rollback', enabled: true }]],
    [
      'failed',
      [
        { name: 'Retry', enabled: true },
        { name: 'Rollback', enabled: true },
      ],
    ],
    [
      'cancelled',
      [
        { name: 'Retry', enabled: true },
        { name: 'Rollback', enabled: true },
      ],
    ],
    ['rolling-back', [{ name: 'Rollback', enabled: false }]],
    ['rolled-back', []],
  ])('offers the actions the engine accepts when %s', async (state, want) => {
    await renderActions(touched(state));
    expect(buttons()).toEqual(want);
  });

  it('offers neither rollback nor retry for a migration no worker took up', async () => {
    await renderActions(
      makeMigration({
        state: 'cancelled',
        step: undefined,
        progress: {
          totalItems: 0,
          doneItems: 0,
          failedItems: 0,
          totalBytes: 0,
          doneBytes: 0,
        },
      }),
    );
    expect(buttons()).toEqual([]);
  });

  it.each<MigrationState>(['running', 'rolling-back'])(
    'says which states a rollback needs when %s',
    async state => {
      await renderActions(touched(state));
      await userEvent.hover(
        screen.getByRole('button', { name: 'Rollback' }).parentElement!,
      );
      expect(
        await screen.findByText(
          `Only succeeded, failed or cancelled migrations can be rolled back; this one is ${state}`,
        ),
      ).toBeInTheDocument();
    },
  );

  it('says when a permission is missing', async () => {
    await renderActions(touched('failed'), { ...ALL_ALLOWED, retry: false });
    expect(buttons()).toEqual([
      { name: 'Retry', enabled: false },
      { name: 'Rollback', enabled: true },
    ]);
    await userEvent.hover(
      screen.getByRole('button', { name: 'Retry' }).parentElement!,
    );
    expect(
      await screen.findByText(
        'You do not have permission to retry migrations of this dataset',
      ),
    ).toBeInTheDocument();
  });

  it('runs an action and hands back the answer', async () => {
    const { api, onChange } = await renderActions(touched('failed'));
    await userEvent.click(screen.getByRole('button', { name: 'Retry' }));
    await waitFor(() => expect(onChange).toHaveBeenCalled());
    expect(api.callsTo('retryMigration')).toEqual([
      { method: 'retryMigration', args: ['m-1', undefined] },
    ]);
  });
});

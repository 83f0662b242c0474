import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  apiError,
  DATASET_REF,
  FakeDatasetMigrationApi,
} from '../../__testUtils__/FakeDatasetMigrationApi';
import { renderWithApis } from '../../__testUtils__/render';
import { MigrateDialog } from './MigrateDialog';

function renderDialog(
  api: FakeDatasetMigrationApi,
  overrides: Partial<Parameters<typeof MigrateDialog>[0]> = {},
) {
  const props = {
    open: true,
    onClose: jest.fn(),
    onMigrationChange: jest.fn(),
    datasetRef: DATASET_REF,
    currentLocation: 's3://raw/plays',
    currentFormat: 'csv' as const,
    canApprove: true,
    canCancel: true,
    ...overrides,
  };
  renderWithApis(<MigrateDialog {...props} />, { api });
  return props;
}

async function planTo(target: string) {
  const field = await screen.findByLabelText('Target location');
  await userEvent.type(field, target);
  await userEvent.click(screen.getByRole('button', { name: 'Plan migration' }));
}

describe('MigrateDialog', () => {
  it('plans the migration, previews it and approves it', async () => {
    const api = new FakeDatasetMigrationApi();
    const props = renderDialog(api);

    expect(
      screen.getByText(
        'Where to copy the data: s3://bucket/prefix, gs://bucket/prefix, file:///path, or file://<root>/path for a configured local root',
      ),
    ).toBeInTheDocument();
    await planTo('gs://archive/plays');

    const preview = await screen.findByTestId('plan-preview');
    expect(api.callsTo('createMigration')).toEqual([
      {
        method: 'createMigration',
        args: [
          {
            dataset: DATASET_REF,
            target: { location: 'gs://archive/plays', format: 'csv' },
            strategy: 'bulk-copy',
          },
        ],
      },
    ]);
    const p = within(preview);
    expect(p.getByText('1,234')).toBeInTheDocument();
    expect(p.getByText('5.0 GiB')).toBeInTheDocument();
    expect(p.getByText('1h 2m 5s')).toBeInTheDocument();
    expect(p.getByText(/^3 existing target objects/)).toBeInTheDocument();
    expect(p.getByText('part-0001.csv')).toBeInTheDocument();
    expect(p.getByText('part-0002.csv')).toBeInTheDocument();
    expect(p.getByText('and 1 more')).toBeInTheDocument();
    expect(p.getByText('2 objects are larger than 5 GiB')).toBeInTheDocument();
    const consumers = within(p.getByTestId('plan-consumers')).getAllByRole(
      'link',
    );
    expect(consumers.map(a => a.getAttribute('href'))).toEqual([
      '/catalog/default/component/play-stats',
      '/catalog/default/component/charts',
    ]);
    expect(props.onMigrationChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ id: 'm-new', state: 'awaiting-approval' }),
    );
    expect(api.callsTo('approveMigration')).toHaveLength(0);

    await userEvent.click(screen.getByRole('button', { name: 'Approve' }));

    await waitFor(() => expect(props.onClose).toHaveBeenCalled());
    expect(api.callsTo('approveMigration')).toEqual([
      { method: 'approveMigration', args: ['m-new', undefined] },
    ]);
    expect(props.onMigrationChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ id: 'm-new', state: 'queued' }),
    );
  });

  it('shows a 400 from the API inline and no plan', async () => {
    const api = new FakeDatasetMigrationApi();
    api.createError = await apiError(
      400,
      'InputError',
      'target file:///etc/plays is outside the allowed roots; allowed: /data',
    );
    const props = renderDialog(api);

    await planTo('file:///etc/plays');

    expect(await screen.findByTestId('migrate-error')).toHaveTextContent(
      'target file:///etc/plays is outside the allowed roots; allowed: /data',
    );
    expect(screen.queryByTestId('plan-preview')).toBeNull();
    expect(screen.getByLabelText('Target location')).toHaveValue(
      'file:///etc/plays',
    );
    expect(screen.queryByRole('button', { name: 'Approve' })).toBeNull();
    expect(props.onMigrationChange).not.toHaveBeenCalled();
  });

  it('drops the previous attempt’s error banner on each new attempt and on close', async () => {
    const api = new FakeDatasetMigrationApi();
    api.createError = await apiError(
      400,
      'InputError',
      'bucket gs://old is gone',
    );
    const props = renderDialog(api);

    await planTo('gs://old/plays');
    expect(await screen.findByTestId('migrate-error')).toHaveTextContent(
      'bucket gs://old is gone',
    );

    // A retry the form refuses itself: its own message, not the old banner.
    const field = screen.getByLabelText('Target location');
    await userEvent.clear(field);
    await planTo('s3://raw/plays/');
    expect(
      await screen.findByText('The target is the dataset’s current location'),
    ).toBeInTheDocument();
    expect(screen.queryByTestId('migrate-error')).toBeNull();

    // A retry the API refuses: one banner, with the new message.
    api.createError = await apiError(
      400,
      'InputError',
      'no access to gs://new',
    );
    await userEvent.clear(field);
    await planTo('gs://new/plays');
    await waitFor(() =>
      expect(screen.getByTestId('migrate-error')).toHaveTextContent(
        'no access to gs://new',
      ),
    );
    expect(screen.getAllByTestId('migrate-error')).toHaveLength(1);

    await userEvent.click(screen.getByRole('button', { name: 'Close' }));
    expect(props.onClose).toHaveBeenCalled();
    expect(screen.queryByTestId('migrate-error')).toBeNull();
  });

  it('shows no banner from a request that answers after the dialog was closed', async () => {
    const api = new FakeDatasetMigrationApi();
    let reject: (e: Error) => void = () => {};
    api.createMigration = () =>
      new Promise((_resolve, fail) => {
        reject = fail;
      });
    renderDialog(api);

    await planTo('gs://slow/plays');
    expect(
      screen.getByRole('button', { name: 'Planning…' }),
    ).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Close' }));
    reject(await apiError(503, 'ServiceUnavailableError', 'too late'));

    await new Promise(r => setTimeout(r, 50));
    expect(screen.queryByTestId('migrate-error')).toBeNull();
    expect(
      screen.getByRole('button', { name: 'Plan migration' }),
    ).toBeEnabled();
  });

  it('refuses a malformed or unchanged target before calling the API', async () => {
    const api = new FakeDatasetMigrationApi();
    renderDialog(api);

    await planTo('ftp://host/plays');
    expect(
      await screen.findByText(/location scheme 'ftp' is not supported/),
    ).toBeInTheDocument();

    const field = screen.getByLabelText('Target location');
    await userEvent.clear(field);
    await planTo('s3://raw/plays/');
    expect(
      await screen.findByText('The target is the dataset’s current location'),
    ).toBeInTheDocument();
    expect(api.callsTo('createMigration')).toHaveLength(0);
  });

  it('cancels the planned migration instead of approving it', async () => {
    const api = new FakeDatasetMigrationApi();
    const props = renderDialog(api);

    await planTo('gs://archive/plays');
    await userEvent.click(
      await screen.findByRole('button', { name: 'Cancel migration' }),
    );

    await waitFor(() => expect(props.onClose).toHaveBeenCalled());
    expect(api.callsTo('cancelMigration')).toEqual([
      {
        method: 'cancelMigration',
        args: ['m-new', 'cancelled at plan review'],
      },
    ]);
    expect(api.callsTo('approveMigration')).toHaveLength(0);
  });

  it('does not let a user without the approve permission approve', async () => {
    const api = new FakeDatasetMigrationApi();
    renderDialog(api, { canApprove: false });

    await planTo('gs://archive/plays');

    const approve = await screen.findByRole('button', { name: 'Approve' });
    expect(approve).toBeDisabled();
    await userEvent.hover(approve.parentElement!);
    expect(
      await screen.findByText(/You do not have permission to approve/),
    ).toBeInTheDocument();
  });

  async function openStrategies() {
    await userEvent.click(
      within(screen.getByRole('dialog')).getByRole('button', {
        name: /^Strategy/,
      }),
    );
    return screen.findByRole('option', {
      name: 'Transform with the dataset’s mapping (schema-transform)',
    });
  }

  it('copies as is by default; without a mapping the transform is disabled and says how to add one', async () => {
    const api = new FakeDatasetMigrationApi();
    renderDialog(api);

    expect(
      await screen.findByTestId('transform-unavailable'),
    ).toHaveTextContent(
      'To transform, add a mapping (YAML or JSON: fields, drop, filter, format) to the dataset’s dataset-migration.io/mapping annotation; see docs/transforms.md',
    );
    const option = await openStrategies();
    expect(option).toHaveAttribute('aria-disabled', 'true');
    expect(
      screen.getByRole('option', { name: 'Copy as is (bulk-copy)' }),
    ).toHaveAttribute('aria-selected', 'true');
  });

  it.each([
    [
      'binary' as const,
      'Transforms read csv, ndjson, parquet datasets; this one is binary',
    ],
    [
      undefined,
      'Transforms need a dataset of known format: set its dataset-migration.io/format annotation (csv, ndjson, parquet)',
    ],
  ])(
    'disables the transform of a %s dataset even with a mapping',
    async (currentFormat, reason) => {
      const api = new FakeDatasetMigrationApi();
      renderDialog(api, { currentFormat, hasMapping: true });

      expect(
        await screen.findByTestId('transform-unavailable'),
      ).toHaveTextContent(reason);
      expect(await openStrategies()).toHaveAttribute('aria-disabled', 'true');
    },
  );

  it('transforms with the dataset’s mapping: no mapping and no target format in the request', async () => {
    const api = new FakeDatasetMigrationApi();
    renderDialog(api, { hasMapping: true });

    expect(screen.queryByTestId('transform-unavailable')).toBeNull();
    const option = await openStrategies();
    expect(option).not.toHaveAttribute('aria-disabled', 'true');
    await userEvent.click(option);
    expect(
      await screen.findByText(
        'Rewrites the records through the dataset’s mapping; the plan shows the schema diff',
      ),
    ).toBeInTheDocument();
    expect(screen.getByText('set by the mapping')).toBeInTheDocument();

    await planTo('file://targets/plays-parquet');

    await screen.findByTestId('plan-preview');
    expect(api.callsTo('createMigration')).toEqual([
      {
        method: 'createMigration',
        args: [
          {
            dataset: DATASET_REF,
            target: { location: 'file://targets/plays-parquet' },
            strategy: 'schema-transform',
          },
        ],
      },
    ]);
    const [request] = api.callsTo('createMigration')[0].args as any[];
    expect(Object.keys(request.target)).toEqual(['location']);
    expect('mapping' in request).toBe(false);
  });

  it('shows the backend’s 400 about a mapping that does not fit', async () => {
    const api = new FakeDatasetMigrationApi();
    api.createError = await apiError(
      400,
      'InputError',
      "The mapping does not fit object 2026/01.csv: drop: column 'customer_ip' is not in the source",
    );
    renderDialog(api, { hasMapping: true });

    await userEvent.click(await openStrategies());
    await planTo('file://targets/plays-parquet');

    expect(await screen.findByTestId('migrate-error')).toHaveTextContent(
      "The mapping does not fit object 2026/01.csv: drop: column 'customer_ip' is not in the source",
    );
    expect(screen.queryByTestId('plan-preview')).toBeNull();
  });
});

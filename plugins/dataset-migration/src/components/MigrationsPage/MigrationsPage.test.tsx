import { screen, waitFor, within } from '@testing-library/react';
import {
  apiError,
  FakeDatasetMigrationApi,
  makeMigration,
} from '../../__testUtils__/FakeDatasetMigrationApi';
import { renderWithApis } from '../../__testUtils__/render';
import { MigrationsPage } from './MigrationsPage';

describe('MigrationsPage', () => {
  it('lists migrations with dataset links, state and progress, and the fleet summary', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [
      makeMigration({ id: 'm-1', state: 'running' }),
      makeMigration({
        id: 'm-2',
        dataset: 'api:payments/ledger',
        state: 'failed',
        step: undefined,
        target: { location: 'file:///data/ledger' },
        createdBy: 'user:default/grace',
      }),
    ];
    api.fleet = {
      queueDepth: 1500,
      inFlight: 8,
      workers: [
        { id: 'replica-a', lastSeenAt: '2026-11-21T10:00:00Z', inFlight: 4 },
        { id: 'replica-b', lastSeenAt: '2026-11-21T10:00:00Z', inFlight: 4 },
      ],
      migrations: { running: 1, failed: 1 },
      throughput: { itemsPerMinute: 420, bytesPerMinute: 3 * 1024 ** 3 },
    };

    renderWithApis(<MigrationsPage refreshIntervalMs={60_000} />, { api });

    expect(await screen.findByText('Migrations (2)')).toBeInTheDocument();
    expect(screen.getByLabelText('Queue depth')).toHaveTextContent('1,500');
    expect(screen.getByLabelText('In flight')).toHaveTextContent('8');
    expect(screen.getByLabelText('Workers')).toHaveTextContent('2');
    expect(screen.getByLabelText('Objects per minute')).toHaveTextContent(
      '420',
    );
    expect(screen.getByLabelText('Bytes per minute')).toHaveTextContent(
      '3.0 GiB',
    );
    expect(
      screen.getByText('Migrations by state: running: 1 · failed: 1'),
    ).toBeInTheDocument();

    const ledgerRow = screen.getByText('file:///data/ledger').closest('tr')!;
    const row = within(ledgerRow);
    expect(row.getByRole('link')).toHaveAttribute(
      'href',
      '/catalog/payments/api/ledger',
    );
    expect(row.getByText('failed')).toBeInTheDocument();
    expect(row.getByText('user:default/grace')).toBeInTheDocument();
    expect(
      row.getByText('50/200 objects, 2.9 KiB/3.9 KiB'),
    ).toBeInTheDocument();
  });

  it('refreshes on an interval and shows API errors', async () => {
    const api = new FakeDatasetMigrationApi();
    renderWithApis(<MigrationsPage refreshIntervalMs={30} />, { api });
    expect(await screen.findByText('Migrations (0)')).toBeInTheDocument();

    api.migrations = [makeMigration({ id: 'm-9' })];
    expect(await screen.findByText('Migrations (1)')).toBeInTheDocument();

    const failure = await apiError(503, 'ServiceUnavailableError', 'db down');
    api.getFleetStatus = async () => {
      throw failure;
    };
    await waitFor(() =>
      expect(screen.getByText(/db down/)).toBeInTheDocument(),
    );
  });
});

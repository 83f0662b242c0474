import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useLocation } from 'react-router-dom';
import {
  apiError,
  FakeDatasetMigrationApi,
  makeMigration,
} from '../../__testUtils__/FakeDatasetMigrationApi';
import { renderWithApis } from '../../__testUtils__/render';
import { formatShortTimestamp } from '../../format';
import { MigrationsPage } from './MigrationsPage';

/** Where the app's router is, to see what a click opened. */
const CurrentPath = () => (
  <span data-testid="current-path">{useLocation().pathname}</span>
);

const NOTHING = {
  totalItems: 0,
  doneItems: 0,
  failedItems: 0,
  totalBytes: 0,
  doneBytes: 0,
};

function rowOf(text: string) {
  return within(screen.getByText(text).closest('tr')!);
}

function linkTo(row: ReturnType<typeof rowOf>, href: string) {
  return row.getAllByRole('link').find(a => a.getAttribute('href') === href);
}

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
        {
          id: 'replica-a',
          lastSeenAt: '2026-11-21T10:00:00Z',
          inFlight: 4,
          state: 'active',
          leasedItems: 4,
          drivenMigrations: 1,
        },
        {
          id: 'replica-b',
          lastSeenAt: '2026-11-21T10:00:00Z',
          inFlight: 4,
          state: 'active',
          leasedItems: 4,
          drivenMigrations: 0,
        },
        // Killed: no heartbeat for two lease periods.
        {
          id: 'replica-c',
          lastSeenAt: '2026-11-21T09:58:00Z',
          inFlight: 0,
          state: 'gone',
          leasedItems: 0,
          drivenMigrations: 0,
        },
      ],
      migrations: { running: 1, failed: 1 },
      throughput: { itemsPerMinute: 420, bytesPerMinute: 3 * 1024 ** 3 },
      errors: { retried: 21, failed: 0, attempts: 441, rate: 21 / 441 },
    };

    renderWithApis(<MigrationsPage refreshIntervalMs={60_000} />, { api });

    expect(await screen.findByText('Migrations (2)')).toBeInTheDocument();
    expect(
      screen.getByRole('heading', { name: 'All migrations' }),
    ).toBeInTheDocument();
    expect(screen.getByLabelText('Queue depth')).toHaveTextContent('1,500');
    expect(screen.getByLabelText('In flight')).toHaveTextContent('8');
    // The gone replica is listed, marked, and not counted as a worker.
    expect(screen.getByLabelText('Workers')).toHaveTextContent(/^2$/);
    expect(
      within(screen.getByTestId('fleet-worker-replica-c')).getByText('gone'),
    ).toBeInTheDocument();
    expect(
      within(screen.getByTestId('fleet-worker-replica-a')).queryByText('gone'),
    ).toBeNull();
    expect(screen.getByTestId('fleet-worker-replica-a')).toHaveTextContent(
      'replica-a: 4 in flight, 4 items leased, drives 1 migration',
    );
    expect(screen.getByLabelText('Error rate')).toHaveTextContent('4.8%');
    expect(screen.getByLabelText('Objects per minute')).toHaveTextContent(
      '420',
    );
    expect(screen.getByLabelText('Bytes per minute')).toHaveTextContent(
      '3.0 GiB',
    );
    expect(
      screen.getByText('Migrations by state: running: 1 · failed: 1'),
    ).toBeInTheDocument();

    const row = rowOf('file:///data/ledger');
    expect(linkTo(row, '/catalog/payments/api/ledger')).toBeDefined();
    // The creation time links to the migration's page.
    expect(linkTo(row, '/dataset-migrations/m-2')).toHaveTextContent(
      formatShortTimestamp('2026-11-21T10:00:00.000Z'),
    );
    expect(row.getByText('failed')).toBeInTheDocument();
    expect(row.getByText('by grace')).toHaveAttribute(
      'title',
      'user:default/grace',
    );
    expect(
      row.getByText('copy: 50/200 objects, 2.9 KiB/3.9 KiB'),
    ).toBeInTheDocument();
  });

  it('shows the plan’s size before anything ran, and the owner, finish time and duration', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [
      makeMigration({
        id: 'm-review',
        state: 'awaiting-approval',
        step: undefined,
        target: { location: 'gs://review/plays' },
        progress: { ...NOTHING, steps: {} },
      }),
      makeMigration({
        id: 'm-done',
        state: 'succeeded',
        step: undefined,
        target: { location: 'gs://done/plays' },
        datasetOwner: 'group:default/data-platform',
        createdAt: '2026-11-21T10:00:00.000Z',
        finishedAt: '2026-11-21T10:02:05.000Z',
        progress: {
          ...NOTHING,
          steps: {
            copy: { ...NOTHING, totalItems: 6, doneItems: 6 },
            validate: { ...NOTHING, totalItems: 6, doneItems: 6 },
          },
        },
      }),
    ];

    renderWithApis(<MigrationsPage refreshIntervalMs={60_000} />, { api });

    expect(await screen.findByText('gs://review/plays')).toBeInTheDocument();
    const review = rowOf('gs://review/plays');
    expect(
      review.getByText('Not started (planned: 1,234 objects, 5.0 GiB)'),
    ).toBeInTheDocument();
    expect(review.queryByText(/0\/0/)).toBeNull();

    const done = rowOf('gs://done/plays');
    expect(
      done.getByText('validate: 6/6 objects, 0 B/0 B'),
    ).toBeInTheDocument();
    expect(linkTo(done, '/catalog/default/group/data-platform')).toBeDefined();
    expect(
      done.getByText(formatShortTimestamp('2026-11-21T10:02:05.000Z')),
    ).toBeInTheDocument();
    expect(done.getByText('2m 5s')).toBeInTheDocument();
  });

  it('filters by state, dataset and owner through the API', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [
      makeMigration({
        id: 'm-1',
        state: 'running',
        target: { location: 'gs://a/running' },
        datasetOwner: 'group:default/data-platform',
      }),
      makeMigration({
        id: 'm-2',
        dataset: 'resource:default/sessions',
        state: 'failed',
        step: undefined,
        target: { location: 'gs://b/failed' },
        datasetOwner: 'group:default/growth',
      }),
    ];

    renderWithApis(<MigrationsPage refreshIntervalMs={60_000} />, { api });
    expect(await screen.findByText('Migrations (2)')).toBeInTheDocument();

    const filters = within(screen.getByTestId('migration-filters'));
    await userEvent.click(filters.getByRole('button', { name: /State/ }));
    await userEvent.click(screen.getByRole('option', { name: 'failed' }));
    expect(
      await screen.findByText('Matching migrations (1)'),
    ).toBeInTheDocument();
    expect(screen.getByText('gs://b/failed')).toBeInTheDocument();
    expect(screen.queryByText('gs://a/running')).toBeNull();
    expect(api.callsTo('listMigrations').at(-1)!.args[0]).toEqual({
      state: 'failed',
      limit: 100,
    });

    await userEvent.click(
      screen.getByRole('button', { name: 'Clear filters' }),
    );
    expect(await screen.findByText('Migrations (2)')).toBeInTheDocument();

    // The owners seen so far are offered; any other ref can be typed.
    await userEvent.click(screen.getByLabelText('Owner'));
    await userEvent.click(
      await screen.findByRole('option', { name: 'group:default/growth' }),
    );
    expect(
      await screen.findByText('Matching migrations (1)'),
    ).toBeInTheDocument();
    expect(api.callsTo('listMigrations').at(-1)!.args[0]).toEqual({
      owner: 'group:default/growth',
      limit: 100,
    });

    await userEvent.type(
      screen.getByLabelText('Dataset'),
      'resource:default/plays{Enter}',
    );
    expect(
      await screen.findByText('No migration matches these filters.'),
    ).toBeInTheDocument();
    expect(api.callsTo('listMigrations').at(-1)!.args[0]).toEqual({
      owner: 'group:default/growth',
      dataset: 'resource:default/plays',
      limit: 100,
    });
    // Several menus and a table re-rendered per filter: slow in jsdom.
  }, 30_000);

  it('opens a migration’s page when its row is clicked, but leaves other links alone', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [
      makeMigration({ id: 'm-7', target: { location: 'gs://seven' } }),
    ];

    renderWithApis(
      <>
        <MigrationsPage refreshIntervalMs={60_000} />
        <CurrentPath />
      </>,
      { api },
    );

    await userEvent.click(await screen.findByText('gs://seven'));
    await waitFor(() =>
      expect(screen.getByTestId('current-path')).toHaveTextContent(
        '/dataset-migrations/m-7',
      ),
    );

    const dataset = linkTo(
      rowOf('gs://seven'),
      '/catalog/default/resource/plays',
    )!;
    await userEvent.click(dataset);
    await waitFor(() =>
      expect(screen.getByTestId('current-path')).toHaveTextContent(
        '/catalog/default/resource/plays',
      ),
    );
    // The row's own (delayed) click handler did not follow up.
    await new Promise(r => setTimeout(r, 300));
    expect(screen.getByTestId('current-path')).toHaveTextContent(
      '/catalog/default/resource/plays',
    );
  });

  it('refreshes on an interval and shows API errors', async () => {
    const api = new FakeDatasetMigrationApi();
    renderWithApis(<MigrationsPage refreshIntervalMs={30} />, { api });
    expect(await screen.findByText('Migrations (0)')).toBeInTheDocument();
    expect(
      screen.getByText('No dataset has been migrated yet.'),
    ).toBeInTheDocument();

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

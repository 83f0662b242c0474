import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import { entityRouteRef } from '@backstage/plugin-catalog-react';
import {
  datasetMigrationApiRef,
  datasetMigrationPlugin,
} from '@internal/backstage-plugin-dataset-migration';
import { screen, within } from '@testing-library/react';
import { makeMigration } from '../../../__testUtils__/migrations';
import {
  RunningMigrations,
  RunningMigrationsActions,
} from './RunningMigrations';

const mountedRoutes = {
  '/catalog/:namespace/:kind/:name': entityRouteRef,
  '/dataset-migrations': datasetMigrationPlugin.routes.root,
};

describe('RunningMigrations', () => {
  it('lists running migrations with links to the dataset and to the migration', async () => {
    const listMigrations = jest.fn().mockResolvedValue({
      items: [
        makeMigration(),
        makeMigration({
          id: 'm 2',
          dataset: 'api:default/podcast-episodes',
          step: 'validate',
          target: { location: 's3://archive/podcasts' },
          progress: {
            totalItems: 10,
            doneItems: 9,
            failedItems: 0,
            totalBytes: 0,
            doneBytes: 0,
          },
        }),
      ],
      totalCount: 12,
    });
    renderInTestApp(
      <>
        <RunningMigrations refreshIntervalMs={60_000} />
        <RunningMigrationsActions />
      </>,
      { apis: [[datasetMigrationApiRef, { listMigrations }]], mountedRoutes },
    );

    const list = await screen.findByRole('list', {
      name: 'Migrations running',
    });
    expect(listMigrations).toHaveBeenCalledWith({
      state: 'running',
      limit: 10,
    });
    const [plays, podcasts] = within(list).getAllByRole('listitem');
    expect(
      within(plays).getByRole('link', { name: /plays-daily/ }),
    ).toHaveAttribute('href', '/catalog/default/resource/plays-daily');
    expect(
      within(plays).getByRole('link', { name: 'migration m-1' }),
    ).toHaveAttribute('href', '/dataset-migrations/m-1');
    expect(
      within(plays).getByText(/copy · 25% · 50\/200 objects/),
    ).toBeVisible();
    expect(
      within(podcasts).getByRole('link', { name: 'migration m 2' }),
    ).toHaveAttribute('href', '/dataset-migrations/m%202');
    // Without sizes yet, the share of objects done.
    expect(within(podcasts).getByText(/validate · 90%/)).toBeVisible();
    expect(screen.getByText('10 more running.')).toBeInTheDocument();
    expect(
      screen.getByRole('link', { name: 'All migrations' }),
    ).toHaveAttribute('href', '/dataset-migrations');
  });

  it('says when no migration is running', async () => {
    renderInTestApp(<RunningMigrations refreshIntervalMs={60_000} />, {
      apis: [
        [
          datasetMigrationApiRef,
          { listMigrations: async () => ({ items: [], totalCount: 0 }) },
        ],
      ],
    });

    expect(
      await screen.findByText('No migration is running.'),
    ).toBeInTheDocument();
  });

  it('shows an API failure in place, without an alert or error toast', async () => {
    const alertApi = mockApis.alert();
    const errorApi = mockApis.error();
    renderInTestApp(<RunningMigrations refreshIntervalMs={60_000} />, {
      apis: [
        [
          datasetMigrationApiRef,
          {
            listMigrations: () => Promise.reject(new Error('Failed to fetch')),
          },
        ],
        alertApi,
        errorApi,
      ],
    });

    expect(
      await screen.findByText('Error: Could not load the running migrations'),
    ).toBeInTheDocument();
    expect(alertApi.getAlerts()).toEqual([]);
    expect(errorApi.getErrors()).toEqual([]);
  });

  it('refreshes on its interval', async () => {
    jest.useFakeTimers();
    try {
      const listMigrations = jest
        .fn()
        .mockResolvedValueOnce({ items: [], totalCount: 0 })
        .mockResolvedValue({ items: [makeMigration()], totalCount: 1 });
      renderInTestApp(<RunningMigrations refreshIntervalMs={1000} />, {
        apis: [[datasetMigrationApiRef, { listMigrations }]],
        mountedRoutes,
      });
      expect(
        await screen.findByText('No migration is running.'),
      ).toBeInTheDocument();

      jest.advanceTimersByTime(1000);

      expect(
        await screen.findByRole('link', { name: 'migration m-1' }),
      ).toBeInTheDocument();
      expect(listMigrations).toHaveBeenCalledTimes(2);
    } finally {
      jest.useRealTimers();
    }
  });
});

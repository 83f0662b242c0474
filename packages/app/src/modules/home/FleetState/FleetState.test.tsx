import { renderInTestApp } from '@backstage/frontend-test-utils';
import { datasetMigrationApiRef } from '@internal/backstage-plugin-dataset-migration';
import { screen } from '@testing-library/react';
import { fleet } from '../../../__testUtils__/migrations';
import { FleetState } from './FleetState';

describe('FleetState', () => {
  it('shows the worker fleet summary', async () => {
    renderInTestApp(<FleetState refreshIntervalMs={60_000} />, {
      apis: [[datasetMigrationApiRef, { getFleetStatus: async () => fleet }]],
    });

    expect(await screen.findByLabelText('Queue depth')).toHaveTextContent(
      '1,500',
    );
    expect(screen.getByText('Worker fleet')).toBeInTheDocument();
    expect(screen.getByLabelText('Workers')).toHaveTextContent('2');
    expect(
      screen.getByText(
        'Migrations by state: running: 2 · awaiting-approval: 1',
      ),
    ).toBeInTheDocument();
  });

  it('shows an API failure inside the card', async () => {
    renderInTestApp(<FleetState refreshIntervalMs={60_000} />, {
      apis: [
        [
          datasetMigrationApiRef,
          {
            getFleetStatus: () => Promise.reject(new Error('Failed to fetch')),
          },
        ],
      ],
    });

    expect(
      await screen.findByText('Error: Could not load the worker fleet'),
    ).toBeInTheDocument();
    expect(screen.getByText('Worker fleet')).toBeInTheDocument();
  });
});

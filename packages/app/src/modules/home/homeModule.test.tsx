import { mockApis, renderTestApp } from '@backstage/frontend-test-utils';
import homePlugin from '@backstage/plugin-home/alpha';
import { entityRouteRef } from '@backstage/plugin-catalog-react';
import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';
import { datasetMigrationApiRef } from '@internal/backstage-plugin-dataset-migration';
import { screen, within } from '@testing-library/react';
import { guestOwnership, playsDaily } from '../../__testUtils__/entities';
import { fleet, makeMigration } from '../../__testUtils__/migrations';
import { homeModule } from './homeModule';

describe('homeModule', () => {
  it("makes the home page the user's datasets, the running migrations and the fleet, without the template widgets", async () => {
    renderTestApp({
      features: [homePlugin, homeModule],
      initialRouteEntries: ['/home'],
      mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
      apis: [
        catalogApiMock({ entities: [playsDaily] }),
        mockApis.identity({ ownershipEntityRefs: guestOwnership }),
        [
          datasetMigrationApiRef,
          {
            listMigrations: async () => ({
              items: [makeMigration()],
              totalCount: 1,
            }),
            getFleetStatus: async () => fleet,
          },
        ],
      ],
    });

    const owned = await screen.findByRole('list', { name: 'Your datasets' });
    expect(
      within(owned).getByRole('link', { name: 'Plays (daily partitions)' }),
    ).toBeInTheDocument();
    expect(
      await screen.findByRole('list', { name: 'Migrations running' }),
    ).toBeInTheDocument();
    expect(await screen.findByLabelText('Queue depth')).toHaveTextContent(
      '1,500',
    );
    expect(screen.getByText('Worker fleet')).toBeInTheDocument();

    for (const template of [
      'Random Joke',
      'World Clocks',
      'Toolkit',
      'Your Starred Entities',
      'Most Visited',
      'Recently Visited',
    ]) {
      expect(screen.queryByText(template)).not.toBeInTheDocument();
    }
  });
});

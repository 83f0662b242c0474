import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import {
  entityRouteRef,
  MockStarredEntitiesApi,
  starredEntitiesApiRef,
} from '@backstage/plugin-catalog-react';
import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';
import { screen, within } from '@testing-library/react';
import {
  catalogEntities,
  guestOwnership,
} from '../../../__testUtils__/entities';
import { DatasetsPage } from './DatasetsPage';

function renderPage(url = '/datasets') {
  return renderInTestApp(<DatasetsPage />, {
    initialRouteEntries: [url],
    mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
    config: { organization: { name: 'Example Music Co.' } },
    apis: [
      catalogApiMock({ entities: catalogEntities }),
      mockApis.identity({
        userEntityRef: 'user:default/guest',
        ownershipEntityRefs: guestOwnership,
      }),
      [starredEntitiesApiRef, new MockStarredEntitiesApi()],
    ],
  });
}

function rowOf(name: string) {
  return within(screen.getByRole('link', { name }).closest('tr')!);
}

describe('DatasetsPage', () => {
  it('lists the Resource and API datasets of every team, and nothing else', async () => {
    renderPage();

    expect(await screen.findByText('All datasets (3)')).toBeInTheDocument();
    expect(
      screen.getByRole('heading', { name: 'Example Music Co. datasets' }),
    ).toBeInTheDocument();
    expect(
      rowOf('Plays (daily partitions)').getByText(
        'file://examples/plays-daily',
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('link', { name: 'Plays (daily partitions)' }),
    ).toHaveAttribute('href', '/catalog/default/resource/plays-daily');
    expect(rowOf('Podcast episodes').getByText('API')).toBeInTheDocument();
    expect(rowOf('User sessions').getByText('Resource')).toBeInTheDocument();
    // A Resource of another type is no dataset.
    expect(screen.queryByText('Plays database')).not.toBeInTheDocument();
  });

  it("narrows to the user's datasets with the catalog's owned filter in the URL", async () => {
    renderPage('/datasets?filters[user]=owned');

    expect(await screen.findByText('Owned datasets (2)')).toBeInTheDocument();
    expect(
      screen.getByRole('link', { name: 'Podcast episodes' }),
    ).toBeInTheDocument();
    expect(screen.queryByText('User sessions')).not.toBeInTheDocument();
  });
});

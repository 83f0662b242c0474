import { mockApis, renderInTestApp } from '@backstage/frontend-test-utils';
import { catalogApiRef, entityRouteRef } from '@backstage/plugin-catalog-react';
import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';
import { screen, within } from '@testing-library/react';
import {
  guestOwnership,
  playsDaily,
  podcastEpisodes,
} from '../../../__testUtils__/entities';
import { datasetsRouteRef } from '../../datasets';
import { OwnedDatasets, OwnedDatasetsActions } from './OwnedDatasets';

const mountedRoutes = {
  '/catalog/:namespace/:kind/:name': entityRouteRef,
  '/datasets': datasetsRouteRef,
};

describe('OwnedDatasets', () => {
  it('lists the datasets by title, each linked to its entity page', async () => {
    renderInTestApp(
      <>
        <OwnedDatasets />
        <OwnedDatasetsActions />
      </>,
      {
        apis: [
          // What the catalog answers the query below, not in title order.
          catalogApiMock({ entities: [podcastEpisodes, playsDaily] }),
          mockApis.identity({
            userEntityRef: 'user:default/guest',
            ownershipEntityRefs: guestOwnership,
          }),
        ],
        mountedRoutes,
      },
    );

    const list = await screen.findByRole('list', { name: 'Your datasets' });
    const links = within(list).getAllByRole('link');
    expect(
      links.map(link => [link.textContent, link.getAttribute('href')]),
    ).toEqual([
      ['Plays (daily partitions)', '/catalog/default/resource/plays-daily'],
      ['Podcast episodes', '/catalog/default/api/podcast-episodes'],
    ]);
    expect(within(list).getByText('file://examples/plays-daily')).toBeVisible();
    expect(within(list).getByText('The podcast-episodes data.')).toBeVisible();
    expect(screen.getByRole('link', { name: 'All datasets' })).toHaveAttribute(
      'href',
      '/datasets',
    );
  });

  // The in-memory catalog of catalogApiMock stops at the first array-valued
  // filter key, so the query itself is what this checks.
  it('asks the catalog for Resource and API datasets owned through any of the ownership refs', async () => {
    const catalogApi = catalogApiMock.mock({
      getEntities: jest.fn().mockResolvedValue({ items: [] }),
    });
    renderInTestApp(<OwnedDatasets />, {
      apis: [
        catalogApi,
        mockApis.identity({ ownershipEntityRefs: guestOwnership }),
      ],
    });

    expect(
      await screen.findByText('Neither you nor your groups own a dataset.'),
    ).toBeInTheDocument();
    expect(catalogApi.getEntities).toHaveBeenCalledWith(
      expect.objectContaining({
        filter: {
          kind: ['resource', 'api'],
          'spec.type': 'dataset',
          'relations.ownedBy': guestOwnership,
        },
      }),
    );
  });

  it('shows a catalog failure in place, without an alert or error toast', async () => {
    const alertApi = mockApis.alert();
    const errorApi = mockApis.error();
    renderInTestApp(<OwnedDatasets />, {
      apis: [
        [
          catalogApiRef,
          { getEntities: () => Promise.reject(new Error('Failed to fetch')) },
        ],
        mockApis.identity({ ownershipEntityRefs: guestOwnership }),
        alertApi,
        errorApi,
      ],
    });

    expect(
      await screen.findByText('Error: Could not load your datasets'),
    ).toBeInTheDocument();
    expect(alertApi.getAlerts()).toEqual([]);
    expect(errorApi.getErrors()).toEqual([]);
  });
});

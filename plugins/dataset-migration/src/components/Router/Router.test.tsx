import { screen } from '@testing-library/react';
import type { ReactNode } from 'react';
import {
  FakeDatasetMigrationApi,
  makeMigration,
} from '../../__testUtils__/FakeDatasetMigrationApi';
import { renderWithApis } from '../../__testUtils__/render';
import { Router } from './Router';

jest.mock('react-virtualized-auto-sizer', () => ({
  __esModule: true,
  default: (props: {
    children: (size: { width: number; height: number }) => ReactNode;
  }) => <>{props.children({ width: 800, height: 400 })}</>,
}));

describe('Router', () => {
  const api = new FakeDatasetMigrationApi();
  api.migrations = [
    makeMigration({ id: 'm-7', state: 'succeeded', step: undefined }),
  ];

  it('shows the list at the page’s root', async () => {
    renderWithApis(<Router />, {
      api,
      mountPath: '/dataset-migrations/*',
      initialRouteEntries: ['/dataset-migrations'],
    });
    expect(await screen.findByText('Migrations (1)')).toBeInTheDocument();
  });

  it('shows one migration at /:id', async () => {
    renderWithApis(<Router />, {
      api,
      mountPath: '/dataset-migrations/*',
      initialRouteEntries: ['/dataset-migrations/m-7'],
    });
    expect(
      await screen.findByRole('heading', { name: /Migration of/ }),
    ).toBeInTheDocument();
    expect(screen.getByText('m-7')).toBeInTheDocument();
  });
});

import { renderTestApp } from '@backstage/frontend-test-utils';
import { notificationsApiRef } from '@backstage/plugin-notifications';
import notificationsPlugin from '@backstage/plugin-notifications/alpha';
import { screen } from '@testing-library/react';
import { datasetsModule } from '../datasets';
import { navModule } from './index';

describe('SidebarContent', () => {
  it('has a Datasets item that opens the Datasets page', async () => {
    renderTestApp({
      // The sidebar's notifications item needs the notifications plugin.
      features: [notificationsPlugin, navModule, datasetsModule],
      apis: [
        [
          notificationsApiRef,
          { getStatus: async () => ({ unread: 0, read: 0 }) },
        ],
      ],
    });

    expect(
      await screen.findByRole('link', { name: 'Datasets' }),
    ).toHaveAttribute('href', '/datasets');
  });
});

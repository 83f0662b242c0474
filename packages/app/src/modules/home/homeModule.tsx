import { createFrontendModule } from '@backstage/frontend-plugin-api';
import homePlugin from '@backstage/plugin-home/alpha';
import {
  HomePageLayoutBlueprint,
  HomePageWidgetBlueprint,
} from '@backstage/plugin-home-react/alpha';

const homePageLayout = HomePageLayoutBlueprint.make({
  params: {
    loader: () => import('./HomePageLayout').then(m => m.HomePageLayout),
  },
});

const ownedDatasetsWidget = HomePageWidgetBlueprint.make({
  name: 'owned-datasets',
  params: {
    name: 'OwnedDatasets',
    title: 'Your datasets',
    description: 'Datasets owned by you or one of your groups',
    layout: { width: { defaultColumns: 6 } },
    components: () =>
      import('./OwnedDatasets').then(m => ({
        Content: m.OwnedDatasets,
        Actions: m.OwnedDatasetsActions,
      })),
  },
});

const runningMigrationsWidget = HomePageWidgetBlueprint.make({
  name: 'running-migrations',
  params: {
    name: 'RunningMigrations',
    title: 'Migrations running',
    description: 'Dataset migrations being copied, transformed or validated',
    layout: { width: { defaultColumns: 6 } },
    components: () =>
      import('./RunningMigrations').then(m => ({
        Content: m.RunningMigrations,
        Actions: m.RunningMigrationsActions,
      })),
  },
});

const fleetWidget = HomePageWidgetBlueprint.make({
  name: 'fleet',
  params: {
    name: 'FleetState',
    title: 'Worker fleet',
    description: 'Queue depth, workers and throughput of the migration fleet',
    layout: { width: { defaultColumns: 12 } },
    components: () =>
      import('./FleetState').then(m => ({ Content: m.FleetState })),
    // The fleet summary is a card already; render it without a second one.
    componentProps: {
      Renderer: ({ Content }: { Content: () => JSX.Element }) => <Content />,
    },
  },
});

/**
 * The home page of the portal (`page:home`, at `/` in app-config.yaml): the
 * user's datasets, the running migrations and the worker fleet, laid out by
 * `HomePageLayout` in the order app-config.yaml lists the widgets.
 *
 * The home plugin's template widgets are switched off: the random joke calls
 * a public API from the browser (a "Failed to fetch" toast where that is
 * blocked), and clocks, external links and visit lists are not this portal's
 * business. app-config.yaml can still turn one back on by its id.
 */
export const homeModule = createFrontendModule({
  pluginId: 'home',
  extensions: [
    homePageLayout,
    ownedDatasetsWidget,
    runningMigrationsWidget,
    fleetWidget,
    homePlugin
      .getExtension('home-page-widget:home/random-joke')
      .override({ disabled: true }),
    homePlugin
      .getExtension('home-page-widget:home/world-clock')
      .override({ disabled: true }),
    homePlugin
      .getExtension('home-page-widget:home/toolkit')
      .override({ disabled: true }),
    homePlugin
      .getExtension('home-page-widget:home/starred-entities')
      .override({ disabled: true }),
    homePlugin
      .getExtension('home-page-widget:home/most-visited')
      .override({ disabled: true }),
    homePlugin
      .getExtension('home-page-widget:home/recently-visited')
      .override({ disabled: true }),
  ],
});

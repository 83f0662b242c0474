import { createApp } from '@backstage/frontend-defaults';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import { navModule } from './modules/nav';
import { homeModule } from './modules/home';
import { datasetsModule } from './modules/datasets';

export default createApp({
  features: [catalogPlugin, navModule, homeModule, datasetsModule],
});

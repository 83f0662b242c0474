import { createRouteRef } from '@backstage/frontend-plugin-api';

/** The Datasets page, `/datasets`. */
export const datasetsRouteRef = createRouteRef();

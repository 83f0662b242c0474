import type { SchedulerServiceTaskScheduleDefinitionConfig } from '@backstage/backend-plugin-api';

export interface Config {
  catalog?: {
    providers?: {
      /**
       * Mirrors the dataset-migration backend's migrations as `Migration`
       * entities (catalog-backend-module-dataset-migration).
       */
      datasetMigration?: {
        /**
         * How often to refresh. Defaults to every 30 seconds, 3 minute
         * timeout, first run 15 seconds after startup.
         */
        schedule?: SchedulerServiceTaskScheduleDefinitionConfig;
        /** Page size for `GET /migrations`; at most 500 (the default). */
        pageSize?: number;
      };
    };
  };
}

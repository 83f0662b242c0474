import { installGcsClientJestShims } from '@internal/backstage-plugin-dataset-migration-backend-module-gcs/testUtils';

// The end-to-end tests also drive the GCS client (S3 → GCS).
installGcsClientJestShims();

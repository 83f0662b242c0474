import { stringifyEntityRef } from '@backstage/catalog-model';
import { InfoCard, Progress } from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import Box from '@material-ui/core/Box';
import Divider from '@material-ui/core/Divider';
import Typography from '@material-ui/core/Typography';
import {
  ANNOTATION_DATASET_FORMAT,
  ANNOTATION_DATASET_LOCATION,
  ANNOTATION_DATASET_MAPPING,
  DATASET_FORMATS,
  type DatasetFormat,
} from '@internal/backstage-plugin-dataset-migration-common';
import { useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { datasetMigrationApiRef } from '../../api';
import { errorMessage, isFinalState, normalizeRef } from '../../format';
import { useDatasetPermissions } from '../../hooks/useDatasetPermissions';
import { useDatasetMigrations } from '../../hooks/useDatasetMigrations';
import { LatestMigration } from '../LatestMigration';
import { MigrateDialog } from '../MigrateDialog';
import { PermissionedButton } from '../PermissionedButton';
import { MigrationHistory } from './MigrationHistory';

/** How often a running migration and its log are refreshed. */
const DEFAULT_POLL_INTERVAL_MS = 2000;
/** Earlier migrations listed under the latest one. */
const HISTORY_LIMIT = 10;

function readFormat(value: string | undefined): DatasetFormat | undefined {
  return (DATASET_FORMATS as readonly string[]).includes(value ?? '')
    ? (value as DatasetFormat)
    : undefined;
}

/**
 * Entity card for datasets: where the data lives, the latest migration with
 * its plan or progress, validation and live log, the Migrate / Rollback
 * actions, and the earlier migrations.
 */
export const DatasetMigrationCard = (props: { pollIntervalMs?: number }) => {
  const pollIntervalMs = props.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const { entity } = useEntity();
  const entityRef = stringifyEntityRef(entity);
  const datasetRef = normalizeRef(entityRef);
  const annotations = entity.metadata.annotations ?? {};
  const annotatedFormat = readFormat(annotations[ANNOTATION_DATASET_FORMAT]);
  const api = useApi(datasetMigrationApiRef);
  const permissions = useDatasetPermissions(entityRef);
  const [dialogOpen, setDialogOpen] = useState(false);
  const latest = useDatasetMigrations(datasetRef, pollIntervalMs);
  const { migration } = latest;

  // Cutover and rollback move the dataset, so look again on each state change.
  const location = useAsync(
    () => api.getDatasetLocation(datasetRef),
    [api, datasetRef, migration?.state],
  );
  // Before the first answer (or when the API fails) the annotation is the
  // best knowledge of where the data lives.
  const currentLocation =
    location.value?.location ?? annotations[ANNOTATION_DATASET_LOCATION];
  // A transform's cutover changes the format too; the annotation is older.
  const movedBy = latest.migrations.find(
    m => m.id === location.value?.migratedBy,
  );
  const format = movedBy?.target.format ?? annotatedFormat;

  const inProgress = !!migration && !isFinalState(migration.state);
  let migrateDisabledReason: string | undefined;
  if (permissions.loading) {
    migrateDisabledReason = 'Checking your permissions…';
  } else if (!permissions.create) {
    migrateDisabledReason =
      'You do not have permission to migrate this dataset';
  } else if (inProgress) {
    migrateDisabledReason = `Migration ${migration.id} is ${migration.state}; finish or cancel it first`;
  }

  return (
    <InfoCard
      title="Dataset migration"
      action={
        <Box mt={1} mr={1}>
          <PermissionedButton
            color="primary"
            variant="contained"
            onClick={() => setDialogOpen(true)}
            disabledReason={migrateDisabledReason}
          >
            Migrate
          </PermissionedButton>
        </Box>
      }
    >
      <Box mb={2}>
        <Typography variant="body2" color="textSecondary">
          Location
        </Typography>
        <Typography variant="body1" data-testid="dataset-location">
          <code>{currentLocation}</code>
        </Typography>
        {location.value?.migratedBy && (
          <Typography variant="body2" color="textSecondary">
            moved here by migration {location.value.migratedBy}
          </Typography>
        )}
        {location.error && (
          <Typography variant="body2" color="error">
            Could not ask the backend for the current location:{' '}
            {errorMessage(location.error)}
          </Typography>
        )}
        <Typography variant="body2" color="textSecondary">
          Format: {format ?? 'unspecified'}
        </Typography>
      </Box>
      <Divider />
      <Box mt={2}>
        {latest.loading && <Progress />}
        {latest.error && (
          <Typography variant="body2" color="error" role="alert">
            Could not load migrations: {errorMessage(latest.error)}
          </Typography>
        )}
        {!latest.loading && !migration && !latest.error && (
          <Typography variant="body2">
            This dataset has not been migrated yet.
          </Typography>
        )}
        {migration && (
          <LatestMigration
            migration={migration}
            report={latest.report}
            permissions={permissions}
            pollIntervalMs={pollIntervalMs}
            onChange={latest.setMigration}
          />
        )}
      </Box>
      {migration && (
        <>
          <Box mt={2}>
            <Divider />
          </Box>
          <Box mt={2}>
            <MigrationHistory
              migrations={latest.migrations.slice(1, 1 + HISTORY_LIMIT)}
              totalCount={latest.totalCount - 1}
            />
          </Box>
        </>
      )}
      <MigrateDialog
        open={dialogOpen}
        onClose={() => setDialogOpen(false)}
        datasetRef={datasetRef}
        currentLocation={currentLocation}
        currentFormat={format}
        hasMapping={!!annotations[ANNOTATION_DATASET_MAPPING]?.trim()}
        canApprove={permissions.approve}
        canCancel={permissions.cancel}
        onMigrationChange={latest.setMigration}
      />
    </InfoCard>
  );
};

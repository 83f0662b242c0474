import { useApi } from '@backstage/frontend-plugin-api';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import Typography from '@material-ui/core/Typography';
import { Alert } from '@material-ui/lab';
import type {
  DatasetFormat,
  Migration,
} from '@internal/backstage-plugin-dataset-migration-common';
import { useRef, useState } from 'react';
import { datasetMigrationApiRef } from '../../api';
import { errorMessage } from '../../format';
import { MigrationStateChip } from '../MigrationStateChip';
import { PermissionedButton } from '../PermissionedButton';
import { PlanPreview } from '../PlanPreview';
import { MigrateForm, type MigrateFormValues } from './MigrateForm';

/**
 * Migrate a dataset: choose the target, see the dry-run plan, then approve it
 * (or cancel it). Creating the migration only plans it; nothing is written
 * until it is approved.
 */
export const MigrateDialog = (props: {
  open: boolean;
  onClose: () => void;
  /** Entity ref of the dataset, as the backend stores it. */
  datasetRef: string;
  currentLocation?: string;
  currentFormat?: DatasetFormat;
  /** Whether the dataset has a mapping annotation, so it can be transformed. */
  hasMapping?: boolean;
  canApprove: boolean;
  canCancel: boolean;
  /** Called with every new version of the migration this dialog created. */
  onMigrationChange: (migration: Migration) => void;
}) => {
  const { datasetRef, onMigrationChange } = props;
  const api = useApi(datasetMigrationApiRef);
  const [migration, setMigration] = useState<Migration>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  // Each request and each close starts a new attempt; what an older request
  // answers later must not show up (as a stale banner) in a newer one.
  const attempt = useRef(0);

  const clearError = () => setError(undefined);

  const close = () => {
    attempt.current += 1;
    setMigration(undefined);
    setError(undefined);
    setBusy(false);
    props.onClose();
  };

  const plan = async (values: MigrateFormValues) => {
    const mine = ++attempt.current;
    setBusy(true);
    setError(undefined);
    try {
      const created = await api.createMigration({
        dataset: datasetRef,
        target: {
          location: values.location,
          ...(values.format && { format: values.format }),
        },
        strategy: values.strategy,
      });
      // Planned even if the dialog was closed meanwhile: the card shows it.
      onMigrationChange(created);
      if (mine === attempt.current) {
        setMigration(created);
      }
    } catch (e) {
      if (mine === attempt.current) {
        setError(errorMessage(e));
      }
    } finally {
      if (mine === attempt.current) {
        setBusy(false);
      }
    }
  };

  const act = async (action: 'approve' | 'cancel') => {
    if (!migration) {
      return;
    }
    const mine = ++attempt.current;
    setBusy(true);
    setError(undefined);
    try {
      const updated =
        action === 'approve'
          ? await api.approveMigration(migration.id)
          : await api.cancelMigration(migration.id, 'cancelled at plan review');
      onMigrationChange(updated);
      if (mine === attempt.current) {
        close();
      }
    } catch (e) {
      if (mine === attempt.current) {
        setError(errorMessage(e));
        setBusy(false);
      }
    }
  };

  const awaitingApproval = migration?.state === 'awaiting-approval';

  return (
    <Dialog open={props.open} onClose={close} maxWidth="md" fullWidth>
      <DialogTitle>
        {migration ? 'Review the migration plan' : 'Migrate dataset'}
      </DialogTitle>
      <DialogContent>
        {error && (
          <Box mb={2}>
            <Alert severity="error" data-testid="migrate-error">
              {error}
            </Alert>
          </Box>
        )}
        {!migration && (
          <MigrateForm
            id="migrate-form"
            currentLocation={props.currentLocation}
            currentFormat={props.currentFormat}
            hasMapping={props.hasMapping}
            onSubmit={plan}
            onAttempt={clearError}
          />
        )}
        {migration && (
          <>
            <Box display="flex" alignItems="center" mb={2}>
              <MigrationStateChip state={migration.state} />
              <Box ml={1}>
                <Typography variant="body2" color="textSecondary">
                  {awaitingApproval
                    ? `Nothing has been written yet. Approve to start ${
                        migration.strategy === 'schema-transform'
                          ? 'transforming'
                          : 'copying'
                      }.`
                    : `Migration ${migration.id} is ${migration.state}.`}
                </Typography>
              </Box>
            </Box>
            {migration.plan ? (
              <PlanPreview plan={migration.plan} />
            ) : (
              <Typography variant="body2">
                The backend returned no plan for this migration.
              </Typography>
            )}
          </>
        )}
      </DialogContent>
      <DialogActions>
        {!migration && (
          <>
            <Button onClick={close}>Close</Button>
            <Button
              type="submit"
              form="migrate-form"
              color="primary"
              variant="contained"
              disabled={busy}
            >
              {busy ? 'Planning…' : 'Plan migration'}
            </Button>
          </>
        )}
        {migration && !awaitingApproval && (
          <Button onClick={close}>Close</Button>
        )}
        {migration && awaitingApproval && (
          <>
            <PermissionedButton
              onClick={() => act('cancel')}
              disabled={busy}
              disabledReason={
                props.canCancel
                  ? undefined
                  : 'You do not have permission to cancel migrations of this dataset'
              }
            >
              Cancel migration
            </PermissionedButton>
            <PermissionedButton
              color="primary"
              variant="contained"
              onClick={() => act('approve')}
              disabled={busy}
              disabledReason={
                props.canApprove
                  ? undefined
                  : 'You do not have permission to approve migrations of this dataset; ask an owner to approve it from the dataset page'
              }
            >
              Approve
            </PermissionedButton>
          </>
        )}
      </DialogActions>
    </Dialog>
  );
};

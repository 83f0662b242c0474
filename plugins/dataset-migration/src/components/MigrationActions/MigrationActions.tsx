import { useApi } from '@backstage/frontend-plugin-api';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import {
  MIGRATION_ACTIONS,
  MIGRATION_ACTION_RULES,
  actionAppliesTo,
  type Migration,
  type MigrationAction,
  type MigrationState,
} from '@internal/backstage-plugin-dataset-migration-common';
import { useEffect, useState } from 'react';
import { datasetMigrationApiRef } from '../../api';
import { errorMessage } from '../../format';
import { neverStarted } from '../../migrationStatus';
import type { DatasetPermissions } from '../../hooks/useDatasetPermissions';
import { ConfirmDialog } from '../ConfirmDialog';
import { PermissionedButton } from '../PermissionedButton';

/**
 * Why Rollback is disabled, worded from the states the engine accepts it in
 * (`MIGRATION_ACTION_RULES`), so the text cannot drift from the rule:
 * "Only succeeded, failed or cancelled migrations can be rolled back; …".
 */
function rollbackUnavailableReason(state: MigrationState): string {
  const from = MIGRATION_ACTION_RULES.rollback.from;
  const states =
    from.length > 1
      ? `${from.slice(0, -1).join(', ')} or ${from[from.length - 1]}`
      : from.join('');
  return `Only ${states} migrations can be rolled back; this one is ${state}`;
}

const LABELS: Record<MigrationAction, string> = {
  approve: 'Approve',
  cancel: 'Cancel',
  retry: 'Retry',
  rollback: 'Rollback',
};

const CONFIRM: Partial<
  Record<MigrationAction, { title: string; description: string }>
> = {
  rollback: {
    title: 'Roll back this migration?',
    description:
      'Rollback deletes what the migration wrote to the target, restores the objects it overwrote and points the dataset back at its previous location. The source is not touched.',
  },
  cancel: {
    title: 'Cancel this migration?',
    description:
      'Workers stop copying. Objects already written stay until you roll the migration back.',
  },
};

/** Approve / Cancel / Retry / Rollback buttons for a migration. */
export const MigrationActions = (props: {
  migration: Migration;
  permissions: DatasetPermissions;
  onChange: (migration: Migration) => void;
}) => {
  const { migration, permissions, onChange } = props;
  const api = useApi(datasetMigrationApiRef);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [confirming, setConfirming] = useState<MigrationAction>();

  // A refusal is about the state it was refused in, not the next one.
  useEffect(() => setError(undefined), [migration.id, migration.state]);

  const run = async (action: MigrationAction, reason?: string) => {
    setConfirming(undefined);
    setBusy(true);
    setError(undefined);
    try {
      const calls: Record<MigrationAction, () => Promise<Migration>> = {
        approve: () => api.approveMigration(migration.id, reason),
        cancel: () => api.cancelMigration(migration.id, reason),
        retry: () => api.retryMigration(migration.id, reason),
        rollback: () => api.rollbackMigration(migration.id, reason),
      };
      onChange(await calls[action]());
    } catch (e) {
      setError(`${LABELS[action]} failed: ${errorMessage(e)}`);
    } finally {
      setBusy(false);
    }
  };

  // Nothing to undo and nothing to resume: the engine would accept both, but
  // a rollback would do nothing and a retry would skip the plan review.
  const untouched = neverStarted(migration);

  const button = (action: MigrationAction) => {
    // The engine answers 409 with the reason in any other state.
    const applies = actionAppliesTo(action, migration.state);
    if ((action === 'rollback' || action === 'retry') && untouched) {
      return null;
    }
    // Rollback stays visible (disabled) so users learn when it is possible,
    // except once it is done; the others only show up when they apply.
    if (
      !applies &&
      (action !== 'rollback' || migration.state === 'rolled-back')
    ) {
      return null;
    }
    let disabledReason: string | undefined;
    if (permissions.loading) {
      disabledReason = 'Checking your permissions…';
    } else if (!permissions[action]) {
      disabledReason = `You do not have permission to ${action} migrations of this dataset`;
    } else if (!applies) {
      disabledReason = rollbackUnavailableReason(migration.state);
    }
    return (
      <Box mr={1} key={action} component="span">
        <PermissionedButton
          variant={action === 'approve' ? 'contained' : 'outlined'}
          color={
            action === 'rollback' || action === 'cancel'
              ? 'secondary'
              : 'primary'
          }
          size="small"
          disabled={busy}
          disabledReason={disabledReason}
          onClick={() =>
            CONFIRM[action] ? setConfirming(action) : run(action)
          }
        >
          {LABELS[action]}
        </PermissionedButton>
      </Box>
    );
  };

  const buttons = MIGRATION_ACTIONS.map(button).filter(Boolean);
  if (buttons.length === 0 && !error) {
    return null;
  }

  return (
    <Box mt={1}>
      <Box display="flex" flexWrap="wrap">
        {buttons}
      </Box>
      {error && (
        <Typography variant="body2" color="error" role="alert">
          {error}
        </Typography>
      )}
      {confirming && CONFIRM[confirming] && (
        <ConfirmDialog
          open
          title={CONFIRM[confirming]!.title}
          description={CONFIRM[confirming]!.description}
          confirmLabel={LABELS[confirming]}
          onConfirm={reason => run(confirming, reason)}
          onClose={() => setConfirming(undefined)}
        />
      )}
    </Box>
  );
};

import Chip from '@material-ui/core/Chip';
import { makeStyles } from '@material-ui/core/styles';
import type { MigrationState } from '@internal/backstage-plugin-dataset-migration-common';

const useStyles = makeStyles(theme => ({
  success: {
    backgroundColor: theme.palette.success.main,
    color: theme.palette.success.contrastText,
  },
  error: {
    backgroundColor: theme.palette.error.main,
    color: theme.palette.error.contrastText,
  },
  warning: {
    backgroundColor: theme.palette.warning.main,
    color: theme.palette.warning.contrastText,
  },
  info: {
    backgroundColor: theme.palette.info.main,
    color: theme.palette.info.contrastText,
  },
  neutral: {},
}));

const TONE: Record<MigrationState, keyof ReturnType<typeof useStyles>> = {
  planned: 'neutral',
  'awaiting-approval': 'warning',
  queued: 'info',
  running: 'info',
  succeeded: 'success',
  failed: 'error',
  cancelled: 'neutral',
  'rolling-back': 'warning',
  'rolled-back': 'neutral',
};

/** A coloured chip with the state of a migration. */
export const MigrationStateChip = (props: { state: MigrationState }) => {
  const classes = useStyles();
  return (
    <Chip
      size="small"
      label={props.state}
      className={classes[TONE[props.state] ?? 'neutral']}
      data-testid="migration-state"
    />
  );
};

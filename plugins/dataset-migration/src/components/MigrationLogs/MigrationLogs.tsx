import { LogViewer } from '@backstage/core-components';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import type { MigrationEvent } from '@internal/backstage-plugin-dataset-migration-common';
import { useMigrationEvents } from '../../hooks/useMigrationEvents';
import { errorMessage } from '../../format';

const useStyles = makeStyles({
  root: {
    width: '100%',
    height: 240,
    position: 'relative',
  },
});

function formatEvent(event: MigrationEvent): string {
  const actor = event.actor ? ` (${event.actor})` : '';
  return `${event.createdAt} ${event.level.toUpperCase()} ${
    event.message
  }${actor}`;
}

/**
 * The live log of a migration. Polls for new events while `live` (the
 * migration is not in a final state) and appends them.
 */
export const MigrationLogs = (props: {
  migrationId: string;
  live: boolean;
  pollIntervalMs: number;
}) => {
  const classes = useStyles();
  const { events, error } = useMigrationEvents(props.migrationId, {
    live: props.live,
    intervalMs: props.pollIntervalMs,
  });
  return (
    <>
      {error && (
        <Typography variant="body2" color="error">
          Could not load the log: {errorMessage(error)}
        </Typography>
      )}
      <div className={classes.root}>
        <LogViewer
          text={
            events.length ? events.map(formatEvent).join('\n') : 'No events yet'
          }
        />
      </div>
    </>
  );
};

import { LogViewer } from '@backstage/core-components';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import type { MigrationEvent } from '@internal/backstage-plugin-dataset-migration-common';
import { useMigrationEvents } from '../../hooks/useMigrationEvents';
import { errorMessage, formatTimestamp } from '../../format';
import { humanizeActor } from '../ActorName';

const useStyles = makeStyles({
  root: {
    width: '100%',
    // LogViewer sizes itself to its container; in a half-width card a
    // fixed height and min-width 0 keep it from pushing the card wider.
    minWidth: 0,
    height: 320,
    position: 'relative',
  },
});

/**
 * One line: local time, level, message and who did it, by name. The engine
 * (a `system:` actor) is behind nearly every line, so it is not repeated.
 */
export function formatEvent(event: MigrationEvent): string {
  const actor =
    event.actor && !event.actor.startsWith('system:')
      ? ` (${humanizeActor(event.actor)})`
      : '';
  return `${formatTimestamp(event.createdAt)} ${event.level.toUpperCase()} ${
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
          textWrap
          text={
            events.length ? events.map(formatEvent).join('\n') : 'No events yet'
          }
        />
      </div>
    </>
  );
};

import { LogViewer } from '@backstage/core-components';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import ToggleButton from '@material-ui/lab/ToggleButton';
import ToggleButtonGroup from '@material-ui/lab/ToggleButtonGroup';
import type {
  MigrationEvent,
  MigrationEventLevel,
} from '@internal/backstage-plugin-dataset-migration-common';
import { useMemo, useState } from 'react';
import { errorMessage } from '../../format';
import { formatEvent } from '../MigrationLogs/MigrationLogs';
import { downloadText } from './download';

const useStyles = makeStyles({
  log: {
    width: '100%',
    // LogViewer sizes itself to this box; without these a long first line
    // can make it wider than the card.
    minWidth: 0,
    overflow: 'hidden',
    height: 400,
    position: 'relative',
  },
});

const LEVELS: MigrationEventLevel[] = ['debug', 'info', 'warn', 'error'];

// ANSI colours, which LogViewer renders; a whole line is one colour so that
// its search and selection see plain text.
const COLOUR: Partial<Record<MigrationEventLevel, string>> = {
  debug: '\x1b[90m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
};

/**
 * The migration's whole event log in a LogViewer (search, line links), with
 * a filter by level and a download of what is shown.
 */
export const EventLog = (props: {
  migrationId: string;
  events: MigrationEvent[];
  loaded: boolean;
  error?: Error;
}) => {
  const classes = useStyles();
  const { events } = props;
  const [levels, setLevels] = useState<MigrationEventLevel[]>(LEVELS);

  const counts = useMemo(() => {
    const result: Record<string, number> = {};
    for (const event of events) {
      result[event.level] = (result[event.level] ?? 0) + 1;
    }
    return result;
  }, [events]);

  const shown = useMemo(
    () => events.filter(event => levels.includes(event.level)),
    [events, levels],
  );
  const text = useMemo(
    () =>
      shown
        .map(event => {
          const colour = COLOUR[event.level];
          const line = formatEvent(event);
          return colour ? `${colour}${line}\x1b[0m` : line;
        })
        .join('\n'),
    [shown],
  );

  let placeholder = 'Loading the log…';
  if (props.loaded) {
    placeholder = events.length
      ? 'No events at the selected levels'
      : 'No events yet';
  }

  return (
    <Box data-testid="event-log">
      <Box mb={1}>
        <ToggleButtonGroup
          size="small"
          value={levels}
          onChange={(_, value: MigrationEventLevel[]) => setLevels(value)}
          aria-label="Log levels"
        >
          {LEVELS.filter(level => level !== 'debug' || counts.debug).map(
            level => (
              <ToggleButton key={level} value={level} aria-label={level}>
                {level} ({counts[level] ?? 0})
              </ToggleButton>
            ),
          )}
        </ToggleButtonGroup>
      </Box>
      {props.error && (
        <Typography variant="body2" color="error" role="alert">
          Could not load the log: {errorMessage(props.error)}
        </Typography>
      )}
      <div className={classes.log}>
        <LogViewer
          textWrap
          text={text || placeholder}
          onDownloadLog={() =>
            downloadText(
              `migration-${props.migrationId}-log.txt`,
              `${shown.map(formatEvent).join('\n')}\n`,
            )
          }
        />
      </div>
    </Box>
  );
};

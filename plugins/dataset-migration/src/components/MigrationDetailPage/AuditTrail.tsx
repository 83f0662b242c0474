import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import type { MigrationEvent } from '@internal/backstage-plugin-dataset-migration-common';
import { formatTimestamp } from '../../format';
import { ActorName } from '../ActorName';
import { auditEntries } from './audit';

const useStyles = makeStyles({
  // The card's text breaks anywhere; a time and a verb read better whole.
  nowrap: { whiteSpace: 'nowrap' },
  // Names are words; without a floor the column shrinks to a letter a line.
  actor: { minWidth: 120 },
});

/** Who planned, approved, cancelled, retried or rolled back, and when. */
export const AuditTrail = (props: {
  events: MigrationEvent[];
  loaded: boolean;
}) => {
  const classes = useStyles();
  const entries = auditEntries(props.events);
  if (entries.length === 0) {
    return (
      <Typography variant="body2">
        {props.loaded ? 'Nothing recorded yet.' : 'Loading…'}
      </Typography>
    );
  }
  const notes = entries.some(entry => entry.note);
  return (
    <Table size="small" aria-label="Audit trail">
      <TableHead>
        <TableRow>
          <TableCell>When</TableCell>
          <TableCell>What</TableCell>
          <TableCell>Who</TableCell>
          {notes && <TableCell>Note</TableCell>}
        </TableRow>
      </TableHead>
      <TableBody>
        {entries.map(entry => (
          <TableRow key={entry.id}>
            <TableCell className={classes.nowrap}>
              {formatTimestamp(entry.at)}
            </TableCell>
            <TableCell className={classes.nowrap}>{entry.action}</TableCell>
            <TableCell className={classes.actor}>
              <ActorName actor={entry.actor} />
            </TableCell>
            {notes && <TableCell>{entry.note}</TableCell>}
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
};

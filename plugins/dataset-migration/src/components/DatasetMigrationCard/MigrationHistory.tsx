import { Link } from '@backstage/core-components';
import { useRouteRef } from '@backstage/frontend-plugin-api';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import type { Migration } from '@internal/backstage-plugin-dataset-migration-common';
import { formatTimestamp } from '../../format';
import { useMigrationLink } from '../../hooks/useMigrationLink';
import { rootRouteRef } from '../../routes';
import { MigrationStateChip } from '../MigrationStateChip';

const useStyles = makeStyles(theme => ({
  list: { listStyle: 'none', margin: 0, padding: 0 },
  item: {
    display: 'flex',
    alignItems: 'baseline',
    flexWrap: 'wrap',
    gap: theme.spacing(1),
    padding: theme.spacing(0.5, 0),
    borderBottom: `1px solid ${theme.palette.divider}`,
  },
  target: { overflowWrap: 'anywhere', minWidth: 0, flex: 1 },
}));

/**
 * The dataset's earlier migrations, newest first: state, when, where to, and
 * a link to each one's detail page.
 */
export const MigrationHistory = (props: {
  migrations: Migration[];
  /** How many earlier migrations exist, when more than are listed. */
  totalCount: number;
}) => {
  const classes = useStyles();
  const pageLink = useRouteRef(rootRouteRef);
  const migrationLink = useMigrationLink();
  const { migrations } = props;
  const older = props.totalCount - migrations.length;
  return (
    <Box>
      <Typography variant="subtitle1" gutterBottom>
        History
      </Typography>
      {migrations.length === 0 ? (
        <Typography variant="body2" color="textSecondary">
          No earlier migrations.
        </Typography>
      ) : (
        <ul className={classes.list} aria-label="Earlier migrations">
          {migrations.map(m => (
            <li key={m.id} className={classes.item}>
              <MigrationStateChip state={m.state} />
              <Link to={migrationLink(m.id)}>
                {formatTimestamp(m.finishedAt ?? m.createdAt)}
              </Link>
              <Typography
                variant="body2"
                color="textSecondary"
                className={classes.target}
              >
                to <code>{m.target.location}</code>
              </Typography>
            </li>
          ))}
        </ul>
      )}
      {older > 0 && (
        <Typography variant="body2" color="textSecondary">
          and {older} older
          {pageLink && (
            <>
              {' '}
              on the <Link to={pageLink()}>Dataset migrations</Link> page
            </>
          )}
        </Typography>
      )}
    </Box>
  );
};

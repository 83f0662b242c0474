import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import type {
  ColumnChange,
  SchemaColumn,
} from '@internal/backstage-plugin-dataset-migration-common';

const CHANGE_LABELS: Record<ColumnChange['change'], string> = {
  keep: 'keep',
  rename: 'rename',
  cast: 'cast',
  'rename+cast': 'rename + cast',
  drop: 'drop',
  add: 'add',
};

/** A default as the mapping wrote it: strings quoted, so '' is visible. */
export function formatDefault(value: ColumnChange['default']): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

const Column = (props: { column: SchemaColumn }) => (
  <>
    <code>{props.column.name}</code>{' '}
    <Typography variant="caption" color="textSecondary" component="span">
      {props.column.type}
    </Typography>
  </>
);

/**
 * Source and target schema side by side, one row per column change. A
 * dropped column has no target; an added one has its default as source.
 */
export const SchemaDiff = (props: { columns: ColumnChange[] }) => (
  <Table size="small" data-testid="plan-schema-diff">
    <TableHead>
      <TableRow>
        <TableCell>Source column</TableCell>
        <TableCell>Change</TableCell>
        <TableCell>Target column</TableCell>
      </TableRow>
    </TableHead>
    <TableBody>
      {props.columns.map(c => (
        <TableRow key={`${c.source?.name ?? ''}→${c.target?.name ?? ''}`}>
          <TableCell>
            {c.source ? (
              <Column column={c.source} />
            ) : (
              <Typography variant="body2" color="textSecondary">
                default {formatDefault(c.default)}
              </Typography>
            )}
          </TableCell>
          <TableCell>
            <Typography
              variant="body2"
              color={c.change === 'keep' ? 'textSecondary' : 'textPrimary'}
            >
              {CHANGE_LABELS[c.change]}
              {c.change !== 'add' &&
                c.default !== undefined &&
                `, nulls become ${formatDefault(c.default)}`}
            </Typography>
          </TableCell>
          <TableCell>{c.target ? <Column column={c.target} /> : '—'}</TableCell>
        </TableRow>
      ))}
    </TableBody>
  </Table>
);

import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Typography from '@material-ui/core/Typography';
import CheckCircleIcon from '@material-ui/icons/CheckCircle';
import ErrorIcon from '@material-ui/icons/Error';
import type { TransformValidation } from '@internal/backstage-plugin-dataset-migration-common';
import { type ReactNode, useState } from 'react';
import { formatNumber } from '../../format';

const Layer = (props: {
  name: string;
  matches: boolean;
  children: ReactNode;
}) => (
  <Box
    display="flex"
    alignItems="flex-start"
    mb={0.5}
    data-testid={`layer-${props.name}`}
  >
    {props.matches ? (
      <CheckCircleIcon fontSize="small" color="primary" />
    ) : (
      <ErrorIcon fontSize="small" color="error" />
    )}
    <Box ml={1}>
      <Typography variant="body2" component="div">
        {props.children}
      </Typography>
    </Box>
  </Box>
);

/** The record-level layers of a schema-transform's validation. */
export const TransformLayers = (props: { transform: TransformValidation }) => {
  const { rows, sample, schema, methods } = props.transform;
  const [showMethods, setShowMethods] = useState(false);
  const n = formatNumber;
  return (
    <Box mt={1} data-testid="validation-transform">
      <Layer name="rows" matches={rows.matches}>
        Rows {rows.matches ? 'match' : 'differ'}: {n(rows.target)} in the target
        of {n(rows.expected)} expected ({n(rows.source)} read,{' '}
        {n(rows.filtered)} filtered out, {n(rows.bad)} bad,{' '}
        {n(rows.quarantined)} quarantined)
      </Layer>
      <Layer name="sample" matches={sample.matches}>
        Sampled records {sample.matches ? 'match' : 'differ'}:{' '}
        {n(sample.compared)} compared field by field, {n(sample.mismatched)}{' '}
        mismatched (up to {n(sample.perObject)} per object)
      </Layer>
      <Layer name="schema" matches={schema.matches}>
        Schema {schema.matches ? 'matches' : 'differs'}:{' '}
        {schema.matches
          ? `every object has the ${n(schema.expected.length)} target columns`
          : `${n(
              schema.mismatchedObjects,
            )} object(s) without the target columns and types`}
      </Layer>
      {props.transform.copiedObjects > 0 && (
        <Typography variant="body2">
          {n(props.transform.copiedObjects)} object(s) copied as they are
        </Typography>
      )}
      {props.transform.quarantine && (
        <Typography variant="body2">
          Quarantined rows: <code>{props.transform.quarantine}</code>
        </Typography>
      )}
      {methods.length > 0 && (
        <>
          <Button
            size="small"
            onClick={() => setShowMethods(!showMethods)}
            aria-expanded={showMethods}
          >
            {showMethods ? 'Hide how it was checked' : 'How it was checked'}
          </Button>
          {showMethods && (
            <Box component="ul" mt={0} mb={0} data-testid="validation-methods">
              {methods.map(sentence => (
                <li key={sentence}>
                  <Typography variant="body2" color="textSecondary">
                    {sentence}
                  </Typography>
                </li>
              ))}
            </Box>
          )}
        </>
      )}
    </Box>
  );
};

import {
  ANNOTATION_DATASET_MAPPING,
  type BadRowPolicy,
  type FilterCondition,
  type PlannedTransform,
} from '@internal/backstage-plugin-dataset-migration-common';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { formatNumber } from '../../format';
import { PlanRow } from './PlanRow';
import { SchemaDiff } from './SchemaDiff';

const BAD_ROWS: Record<BadRowPolicy, string> = {
  fail: 'fail: a value that cannot be cast stops its object, nothing is written for it',
  skip: 'skip: rows with a value that cannot be cast are left out and counted',
  quarantine:
    'quarantine: rows with a value that cannot be cast are left out and kept, as they were, outside the target',
};

const OPS = { eq: '=', ne: '≠', lt: '<', le: '≤', gt: '>', ge: '≥' };

function describeCondition(c: FilterCondition): string {
  const show = (v: unknown) => JSON.stringify(v);
  if ('isNull' in c) return `${c.column} is ${c.isNull ? '' : 'not '}null`;
  if ('in' in c) return `${c.column} in ${c.in.map(show).join(', ')}`;
  if ('notIn' in c) return `${c.column} not in ${c.notIn.map(show).join(', ')}`;
  return `${c.column} ${OPS[c.op]} ${show(c.value)}`;
}

/** `sha256:84ed3fd17828…`: enough to tell mappings apart at a glance. */
function shortHash(hash: string): string {
  const [algorithm, digest] = hash.includes(':')
    ? hash.split(':', 2)
    : ['', hash];
  return `${algorithm ? `${algorithm}:` : ''}${digest.slice(0, 12)}`;
}

/** The transform part of a plan: formats, mapping, objects and the schema diff. */
export const TransformPlan = (props: { transform: PlannedTransform }) => {
  const { transform } = props;
  const { mapping, objects } = transform;
  return (
    <Box mt={2} data-testid="plan-transform">
      <Typography variant="subtitle2" gutterBottom>
        Transform
      </Typography>
      <PlanRow label="Formats">
        {transform.sourceFormat} → {transform.targetFormat}
      </PlanRow>
      <PlanRow label="Mapping">
        {transform.mappingSource === 'entity' ? (
          <>
            the dataset’s mapping annotation (
            <code>{ANNOTATION_DATASET_MAPPING}</code>)
          </>
        ) : (
          'given in the request'
        )}
        ,{' '}
        <code title={transform.mappingHash}>
          {shortHash(transform.mappingHash)}
        </code>
      </PlanRow>
      <PlanRow label="Objects">
        {formatNumber(objects.transformed)} transformed,{' '}
        {formatNumber(objects.copied)} copied as they are
        {objects.inParts ? (
          <>
            ; {formatNumber(objects.inParts)} larger than{' '}
            {formatNumber(2 * (objects.partMiB ?? 0))} MiB transformed in parts
            that several workers share
          </>
        ) : null}
      </PlanRow>
      <PlanRow label="Schema read from">{transform.schemaFrom}</PlanRow>
      {mapping.filter && mapping.filter.length > 0 && (
        <PlanRow label="Rows kept where">
          {mapping.filter.map(describeCondition).join(' and ')}
        </PlanRow>
      )}
      <PlanRow label="Bad rows">{BAD_ROWS[mapping.badRows ?? 'fail']}</PlanRow>
      <Box mt={1}>
        <SchemaDiff columns={transform.columns} />
      </Box>
    </Box>
  );
};

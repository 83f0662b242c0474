import { EntityRefLink } from '@backstage/plugin-catalog-react';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { Alert } from '@material-ui/lab';
import type { MigrationPlan } from '@internal/backstage-plugin-dataset-migration-common';
import { formatBytes, formatDuration, formatNumber } from '../../format';

const Row = (props: { label: string; children: React.ReactNode }) => (
  <Box display="flex" mb={0.5}>
    <Box width={160} flexShrink={0}>
      <Typography variant="body2" color="textSecondary">
        {props.label}
      </Typography>
    </Box>
    <Typography variant="body2" component="div">
      {props.children}
    </Typography>
  </Box>
);

/** What a migration will do, as planned by the dry run. */
export const PlanPreview = (props: { plan: MigrationPlan }) => {
  const { plan } = props;
  return (
    <Box data-testid="plan-preview">
      <Row label="From">
        <code>{plan.source.location}</code>
      </Row>
      <Row label="To">
        <code>{plan.target.location}</code>
        {plan.target.format && ` (${plan.target.format})`}
      </Row>
      <Row label="Objects">{formatNumber(plan.source.objectCount)}</Row>
      <Row label="Size">{formatBytes(plan.source.totalBytes)}</Row>
      <Row label="Estimated time">{formatDuration(plan.estimatedSeconds)}</Row>
      <Row label="Overwrites">
        {plan.overwrites.count === 0 ? (
          'none'
        ) : (
          <>
            {formatNumber(plan.overwrites.count)} existing target objects
            (backed up first, restored on rollback)
            <Box component="ul" my={0} pl={2}>
              {plan.overwrites.sample.map(key => (
                <li key={key}>
                  <code>{key}</code>
                </li>
              ))}
              {plan.overwrites.count > plan.overwrites.sample.length && (
                <li>
                  and{' '}
                  {formatNumber(
                    plan.overwrites.count - plan.overwrites.sample.length,
                  )}{' '}
                  more
                </li>
              )}
            </Box>
          </>
        )}
      </Row>
      <Row label="Consumers">
        {plan.consumers.length === 0 ? (
          'none known'
        ) : (
          <Box component="ul" my={0} pl={2} data-testid="plan-consumers">
            {plan.consumers.map(ref => (
              <li key={ref}>
                <EntityRefLink entityRef={ref} />
              </li>
            ))}
          </Box>
        )}
      </Row>
      {plan.warnings.map(warning => (
        <Box mt={1} key={warning}>
          <Alert severity="warning">{warning}</Alert>
        </Box>
      ))}
    </Box>
  );
};

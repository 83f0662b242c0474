import { EntityRefLink } from '@backstage/plugin-catalog-react';
import Box from '@material-ui/core/Box';
import { Alert } from '@material-ui/lab';
import type { MigrationPlan } from '@internal/backstage-plugin-dataset-migration-common';
import { formatBytes, formatDuration, formatNumber } from '../../format';
import { PlanRow } from './PlanRow';
import { TransformPlan } from './TransformPlan';

/** What a migration will do, as planned by the dry run. */
export const PlanPreview = (props: { plan: MigrationPlan }) => {
  const { plan } = props;
  return (
    <Box data-testid="plan-preview">
      <PlanRow label="From">
        <code>{plan.source.location}</code>
      </PlanRow>
      <PlanRow label="To">
        <code>{plan.target.location}</code>
        {plan.target.format && ` (${plan.target.format})`}
      </PlanRow>
      <PlanRow label="Objects">{formatNumber(plan.source.objectCount)}</PlanRow>
      <PlanRow label="Size">{formatBytes(plan.source.totalBytes)}</PlanRow>
      <PlanRow label="Estimated time">
        {formatDuration(plan.estimatedSeconds)}
      </PlanRow>
      <PlanRow label="Overwrites">
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
      </PlanRow>
      <PlanRow label="Consumers">
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
      </PlanRow>
      {plan.transform && <TransformPlan transform={plan.transform} />}
      {plan.warnings.map(warning => (
        <Box mt={1} key={warning}>
          <Alert severity="warning">{warning}</Alert>
        </Box>
      ))}
    </Box>
  );
};

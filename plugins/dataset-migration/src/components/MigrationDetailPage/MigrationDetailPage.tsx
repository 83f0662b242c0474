import {
  Content,
  ContentHeader,
  EmptyState,
  InfoCard,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import {
  BreadcrumbEntry,
  useRouteRef,
  useRouteRefParams,
} from '@backstage/frontend-plugin-api';
import { EntityRefLink } from '@backstage/plugin-catalog-react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Grid from '@material-ui/core/Grid';
import Typography from '@material-ui/core/Typography';
import { Alert } from '@material-ui/lab';
import { errorMessage } from '../../format';
import { migrationRouteRef, rootRouteRef } from '../../routes';
import { MigrationStateChip } from '../MigrationStateChip';
import { PlanPreview } from '../PlanPreview';
import { AuditTrail } from './AuditTrail';
import { DetailActions } from './DetailActions';
import { EventLog } from './EventLog';
import { MigrationOverview } from './MigrationOverview';
import { describeOutcome } from './outcome';
import { ProgressSection } from './ProgressSection';
import { useMigrationDetail } from './useMigrationDetail';
import { ValidationReportCard } from './ValidationReportCard';

/** How often a migration that is not final, and its log, are refreshed. */
const DEFAULT_POLL_INTERVAL_MS = 2000;

const NotFound = (props: { id: string }) => {
  const list = useRouteRef(rootRouteRef)?.();
  return (
    <EmptyState
      missing="data"
      title="Migration not found"
      description={`There is no migration with the id "${props.id}". It may have been deleted, or the link is wrong.`}
      action={
        list ? (
          <Button variant="contained" color="primary" href={list}>
            All migrations
          </Button>
        ) : undefined
      }
    />
  );
};

/**
 * Everything about one migration: what it is, the actions its state allows,
 * the plan, the progress of each step, the validation report, the audit
 * trail and the full log. Refreshes itself until the migration is final.
 */
export const MigrationDetail = (props: {
  id: string;
  pollIntervalMs?: number;
}) => {
  const { id } = props;
  const detail = useMigrationDetail(
    id,
    props.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
  );
  const { migration, events, eventsLoaded } = detail;

  if (detail.notFound) {
    return <NotFound id={id} />;
  }
  if (!migration) {
    return detail.error ? (
      <ResponseErrorPanel error={detail.error} />
    ) : (
      <Progress />
    );
  }

  const outcome = describeOutcome(migration, events);
  return (
    <>
      <ContentHeader
        titleComponent={
          <Box display="flex" alignItems="center" flexWrap="wrap">
            <Typography variant="h4" component="h1">
              Migration of <EntityRefLink entityRef={migration.dataset} />
            </Typography>
            <Box ml={2}>
              <MigrationStateChip state={migration.state} />
            </Box>
          </Box>
        }
      >
        <DetailActions migration={migration} onChange={detail.onChange} />
      </ContentHeader>
      <Grid container spacing={3}>
        {detail.error && (
          <Grid item xs={12}>
            <Alert severity="warning">
              Could not refresh the migration: {errorMessage(detail.error)}
            </Alert>
          </Grid>
        )}
        {outcome && (
          <Grid item xs={12}>
            <Alert severity={outcome.severity} data-testid="migration-outcome">
              {outcome.text}
            </Alert>
          </Grid>
        )}
        <Grid item xs={12} md={6}>
          <InfoCard title="Overview">
            <MigrationOverview migration={migration} />
          </InfoCard>
        </Grid>
        <Grid item xs={12} md={6}>
          <Box mb={3}>
            <InfoCard title="Progress">
              <ProgressSection migration={migration} />
            </InfoCard>
          </Box>
          <InfoCard title="Plan">
            {migration.plan ? (
              <PlanPreview plan={migration.plan} />
            ) : (
              <Typography variant="body2">No plan was stored.</Typography>
            )}
          </InfoCard>
        </Grid>
        {(detail.report || detail.reportError) && (
          <Grid item xs={12}>
            {detail.report ? (
              <ValidationReportCard report={detail.report} />
            ) : (
              <Alert severity="warning">
                Could not load the validation report:{' '}
                {errorMessage(detail.reportError)}
              </Alert>
            )}
          </Grid>
        )}
        <Grid item xs={12}>
          <InfoCard title="Audit trail">
            <AuditTrail events={events} loaded={eventsLoaded} />
          </InfoCard>
        </Grid>
        <Grid item xs={12}>
          <InfoCard title="Log">
            <EventLog
              migrationId={migration.id}
              events={events}
              loaded={eventsLoaded}
              error={detail.eventsError}
            />
          </InfoCard>
        </Grid>
      </Grid>
    </>
  );
};

/** The page of one migration, `/dataset-migrations/:id`. */
export const MigrationDetailPage = (props: { pollIntervalMs?: number }) => {
  const { id } = useRouteRefParams(migrationRouteRef);
  const href = useRouteRef(migrationRouteRef)?.({ id }) ?? '';
  return (
    <BreadcrumbEntry entry={{ label: `Migration ${id.slice(0, 8)}`, href }}>
      <Content>
        <MigrationDetail id={id} pollIntervalMs={props.pollIntervalMs} />
      </Content>
    </BreadcrumbEntry>
  );
};

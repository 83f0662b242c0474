import { InfoCard, Progress, WarningPanel } from '@backstage/core-components';
import { useApi } from '@backstage/frontend-plugin-api';
import {
  datasetMigrationApiRef,
  FleetSummary,
} from '@internal/backstage-plugin-dataset-migration';
import { useCallback } from 'react';
import { usePolledValue } from '../usePolledValue';

const REFRESH_INTERVAL_MS = 10_000;

/**
 * The worker fleet card of the migrations page (`FleetSummary`: queue depth,
 * in-flight work, workers, throughput, migrations by state), kept fresh.
 * It is a whole card, so the widget renders it in place of the default one.
 */
export const FleetState = (props: { refreshIntervalMs?: number }) => {
  const api = useApi(datasetMigrationApiRef);
  const load = useCallback(() => api.getFleetStatus(), [api]);
  const { value, error, loading } = usePolledValue(load, {
    intervalMs: props.refreshIntervalMs ?? REFRESH_INTERVAL_MS,
  });

  if (value && !error) {
    return <FleetSummary fleet={value} />;
  }
  return (
    <InfoCard title="Worker fleet">
      {loading ? (
        <Progress />
      ) : (
        <WarningPanel
          severity="error"
          title="Could not load the worker fleet"
          message={error?.message}
        />
      )}
    </InfoCard>
  );
};

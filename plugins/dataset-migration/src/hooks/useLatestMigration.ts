import { useApi } from '@backstage/frontend-plugin-api';
import type {
  Migration,
  ValidationReport,
} from '@internal/backstage-plugin-dataset-migration-common';
import { useCallback, useEffect, useState } from 'react';
import { datasetMigrationApiRef } from '../api';
import { isFinalState } from '../format';
import { usePolling } from './usePolling';

/**
 * How many recent migrations to ask for: the contract does not promise an
 * order, so the newest is picked here by creation time.
 */
const RECENT_LIMIT = 20;

function newest(items: Migration[]): Migration | undefined {
  return items.reduce<Migration | undefined>(
    (best, m) => (!best || m.createdAt > best.createdAt ? m : best),
    undefined,
  );
}

/**
 * The latest migration of a dataset, refreshed every `intervalMs` while it is
 * not final, plus its validation report once one exists.
 */
export function useLatestMigration(datasetRef: string, intervalMs: number) {
  const api = useApi(datasetMigrationApiRef);
  const [migration, setMigration] = useState<Migration>();
  const [report, setReport] = useState<ValidationReport>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error>();

  const load = useCallback(async () => {
    try {
      const { items } = await api.listMigrations({
        dataset: datasetRef,
        limit: RECENT_LIMIT,
      });
      setMigration(newest(items));
      setError(undefined);
    } catch (e) {
      setError(e as Error);
    } finally {
      setLoading(false);
    }
  }, [api, datasetRef]);

  useEffect(() => {
    setLoading(true);
    load();
  }, [load]);

  const live = !!migration && !isFinalState(migration.state);
  const migrationId = migration?.id;

  usePolling(
    async () => {
      if (!migrationId) {
        return;
      }
      try {
        const fresh = await api.getMigration(migrationId);
        setMigration(current => (current?.id === fresh.id ? fresh : current));
        setError(undefined);
      } catch (e) {
        setError(e as Error);
      }
    },
    { intervalMs, enabled: live },
  );

  // The report appears after the validate step; look again on each change of
  // state or step rather than polling for it separately.
  const state = migration?.state;
  const step = migration?.step;
  useEffect(() => {
    let cancelled = false;
    setReport(r => (r?.migrationId === migrationId ? r : undefined));
    if (!migrationId) {
      return undefined;
    }
    api.getReport(migrationId).then(
      r => !cancelled && setReport(r),
      () => {
        // A missing report is not worth an error on the card.
      },
    );
    return () => {
      cancelled = true;
    };
  }, [api, migrationId, state, step]);

  return { migration, report, loading, error, setMigration, reload: load };
}

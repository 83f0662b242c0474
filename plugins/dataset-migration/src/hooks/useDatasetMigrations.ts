import { useApi } from '@backstage/frontend-plugin-api';
import type {
  Migration,
  ValidationReport,
} from '@internal/backstage-plugin-dataset-migration-common';
import { useCallback, useEffect, useState } from 'react';
import { datasetMigrationApiRef } from '../api';
import { isFinalState } from '../format';
import { reportMayExist } from '../migrationStatus';
import { usePolling } from './usePolling';

/** How many of a dataset's migrations the card asks for (latest + history). */
const RECENT_LIMIT = 20;

function newestFirst(items: Migration[]): Migration[] {
  return [...items].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/**
 * A dataset's recent migrations, newest first: the latest one refreshed every
 * `intervalMs` while it is not final, plus its validation report once it may
 * have one. `setMigration` takes a new or changed migration from an action.
 */
export function useDatasetMigrations(datasetRef: string, intervalMs: number) {
  const api = useApi(datasetMigrationApiRef);
  const [list, setList] = useState<{ items: Migration[]; totalCount: number }>({
    items: [],
    totalCount: 0,
  });
  const [report, setReport] = useState<ValidationReport>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error>();

  const load = useCallback(async () => {
    try {
      const { items, totalCount } = await api.listMigrations({
        dataset: datasetRef,
        limit: RECENT_LIMIT,
      });
      setList({ items: newestFirst(items), totalCount });
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

  const setMigration = useCallback((fresh: Migration) => {
    setList(({ items, totalCount }) =>
      items.some(m => m.id === fresh.id)
        ? { items: items.map(m => (m.id === fresh.id ? fresh : m)), totalCount }
        : { items: newestFirst([fresh, ...items]), totalCount: totalCount + 1 },
    );
  }, []);

  const migrations = list.items;
  const migration = migrations[0] as Migration | undefined;
  const live = !!migration && !isFinalState(migration.state);
  const migrationId = migration?.id;

  usePolling(
    async () => {
      if (!migrationId) {
        return;
      }
      try {
        const fresh = await api.getMigration(migrationId);
        setMigration(fresh);
        setError(undefined);
      } catch (e) {
        setError(e as Error);
      }
    },
    { intervalMs, enabled: live },
  );

  // The report appears with the validate step: ask once it may exist, and
  // again on each change of state or step rather than polling for it.
  const state = migration?.state;
  const step = migration?.step;
  const askReport = !!migration && reportMayExist(migration);
  useEffect(() => {
    let cancelled = false;
    setReport(r => (r?.migrationId === migrationId ? r : undefined));
    if (!migrationId || !askReport) {
      return undefined;
    }
    api.getReport(migrationId).then(
      r => !cancelled && r && setReport(r),
      () => {
        // The card works without a report; an error is not worth a banner.
      },
    );
    return () => {
      cancelled = true;
    };
  }, [api, migrationId, askReport, state, step]);

  return {
    /** Newest first; the first is the latest. */
    migrations,
    /** How many migrations the dataset has in all. */
    totalCount: list.totalCount,
    migration,
    report,
    loading,
    error,
    setMigration,
    reload: load,
  };
}

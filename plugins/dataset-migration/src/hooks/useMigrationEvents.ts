import { useApi } from '@backstage/frontend-plugin-api';
import type { MigrationEvent } from '@internal/backstage-plugin-dataset-migration-common';
import { useCallback, useEffect, useRef, useState } from 'react';
import { datasetMigrationApiRef } from '../api';
import { usePolling } from './usePolling';

/**
 * The events (live log) of a migration: loads what exists, then, while
 * `live`, asks only for events after the last one seen and appends them.
 */
export function useMigrationEvents(
  migrationId: string,
  options: { live: boolean; intervalMs: number },
) {
  const api = useApi(datasetMigrationApiRef);
  const [events, setEvents] = useState<MigrationEvent[]>([]);
  const [error, setError] = useState<Error>();
  const lastId = useRef(0);
  const currentId = useRef(migrationId);

  const fetchNew = useCallback(async () => {
    try {
      const { items } = await api.listEvents(migrationId, {
        after: lastId.current,
      });
      if (migrationId !== currentId.current) {
        return; // the card moved on to another migration meanwhile
      }
      setError(undefined);
      // Two fetches may overlap (mount + final refresh); keep each id once.
      const fresh = items.filter(event => event.id > lastId.current);
      if (fresh.length > 0) {
        lastId.current = fresh[fresh.length - 1].id;
        setEvents(previous => [...previous, ...fresh]);
      }
    } catch (e) {
      if (migrationId === currentId.current) {
        setError(e as Error);
      }
    }
  }, [api, migrationId]);

  useEffect(() => {
    currentId.current = migrationId;
    lastId.current = 0;
    setEvents([]);
    setError(undefined);
    fetchNew();
  }, [migrationId, fetchNew]);

  // One last fetch when the migration turns final, so its closing lines show.
  const wasLive = useRef(options.live);
  useEffect(() => {
    if (wasLive.current && !options.live) {
      fetchNew();
    }
    wasLive.current = options.live;
  }, [options.live, fetchNew]);

  usePolling(fetchNew, {
    intervalMs: options.intervalMs,
    enabled: options.live,
  });

  return { events, error };
}

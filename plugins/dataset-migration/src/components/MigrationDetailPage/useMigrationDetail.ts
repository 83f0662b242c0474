import { useApi } from '@backstage/frontend-plugin-api';
import type {
  Migration,
  MigrationEvent,
  ValidationReport,
} from '@internal/backstage-plugin-dataset-migration-common';
import { useCallback, useEffect, useRef, useState } from 'react';
import { datasetMigrationApiRef, type DatasetMigrationApi } from '../../api';
import { isFinalState } from '../../format';
import { usePolling } from '../../hooks/usePolling';

/** The API's largest page of events. */
const EVENTS_PAGE_SIZE = 1000;

export function isNotFound(error: unknown): boolean {
  // Compared by name: the app may hold another copy of @backstage/errors.
  const e = error as
    | { name?: string; response?: { status?: number } }
    | undefined;
  return (
    e?.name === 'NotFoundError' ||
    (e?.name === 'ResponseError' && e.response?.status === 404)
  );
}

/** Every event after `after`, page by page: a long migration has thousands. */
async function eventsAfter(
  api: DatasetMigrationApi,
  id: string,
  after: number,
): Promise<MigrationEvent[]> {
  const all: MigrationEvent[] = [];
  let cursor = after;
  for (;;) {
    const { items } = await api.listEvents(id, {
      after: cursor,
      limit: EVENTS_PAGE_SIZE,
    });
    all.push(...items);
    if (items.length < EVENTS_PAGE_SIZE) {
      return all;
    }
    cursor = items[items.length - 1].id;
  }
}

/**
 * One migration with its whole event log, refreshed every `intervalMs` until
 * it is final, and its validation report once the log says one was stored.
 */
export function useMigrationDetail(id: string, intervalMs: number) {
  const api = useApi(datasetMigrationApiRef);
  const [migration, setMigration] = useState<Migration>();
  const [events, setEvents] = useState<MigrationEvent[]>([]);
  const [eventsLoaded, setEventsLoaded] = useState(false);
  const [error, setError] = useState<Error>();
  const [eventsError, setEventsError] = useState<Error>();
  const [notFound, setNotFound] = useState(false);
  const [report, setReport] = useState<ValidationReport>();
  const [reportError, setReportError] = useState<Error>();
  const lastEventId = useRef(0);
  const currentId = useRef(id);

  const refresh = useCallback(async () => {
    try {
      const fresh = await api.getMigration(id);
      if (id !== currentId.current) return;
      setMigration(fresh);
      setError(undefined);
    } catch (e) {
      if (id !== currentId.current) return;
      if (isNotFound(e)) {
        setNotFound(true);
        return;
      }
      setError(e as Error);
    }
    // After the migration, so a final state comes with its closing events.
    try {
      const items = await eventsAfter(api, id, lastEventId.current);
      if (id !== currentId.current) return;
      // Two refreshes may overlap (an action's and the poll's): keep each once.
      const fresh = items.filter(event => event.id > lastEventId.current);
      if (fresh.length > 0) {
        lastEventId.current = fresh[fresh.length - 1].id;
        setEvents(previous => [...previous, ...fresh]);
      }
      setEventsLoaded(true);
      setEventsError(undefined);
    } catch (e) {
      if (id === currentId.current) setEventsError(e as Error);
    }
  }, [api, id]);

  useEffect(() => {
    currentId.current = id;
    lastEventId.current = 0;
    setMigration(undefined);
    setEvents([]);
    setEventsLoaded(false);
    setError(undefined);
    setEventsError(undefined);
    setNotFound(false);
    setReport(undefined);
    setReportError(undefined);
    refresh();
  }, [id, refresh]);

  const final = !!migration && isFinalState(migration.state);
  usePolling(refresh, { intervalMs, enabled: !notFound && !final });

  // The report exists once the validate step stored it, which the log says
  // with a `validation-report` event; asking earlier would only get a 404.
  const reportEventId = events
    .filter(event => event.type === 'validation-report')
    .at(-1)?.id;
  useEffect(() => {
    if (reportEventId === undefined) {
      return undefined;
    }
    let cancelled = false;
    api.getReport(id).then(
      r => {
        if (!cancelled) {
          setReport(r);
          setReportError(undefined);
        }
      },
      e => !cancelled && setReportError(e as Error),
    );
    return () => {
      cancelled = true;
    };
  }, [api, id, reportEventId]);

  /** After an action: show its answer at once, then its audit events. */
  const onChange = useCallback(
    (updated: Migration) => {
      setMigration(updated);
      refresh();
    },
    [refresh],
  );

  return {
    migration,
    events,
    eventsLoaded,
    error,
    eventsError,
    notFound,
    report,
    reportError,
    onChange,
  };
}

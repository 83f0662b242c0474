import { useEffect, useRef, useState } from 'react';

export interface PolledValue<T> {
  value?: T;
  error?: Error;
  loading: boolean;
}

/**
 * Loads a value on mount and, when `intervalMs` is set, again that long after
 * each load settled (so a slow backend is never sent overlapping requests).
 *
 * A failed load is returned as `error` for the widget to show in place, next
 * to the last value it had: a home page widget must not post to the alert or
 * error APIs, whose toasts outlive the page and follow the user around.
 */
export function usePolledValue<T>(
  load: () => Promise<T>,
  options: { intervalMs?: number } = {},
): PolledValue<T> {
  const loadRef = useRef(load);
  loadRef.current = load;
  const { intervalMs } = options;
  const [state, setState] = useState<PolledValue<T>>({ loading: true });

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const value = await loadRef.current();
        if (!stopped) {
          setState({ value, loading: false });
        }
      } catch (error) {
        if (!stopped) {
          setState(previous => ({
            value: previous.value,
            error: error as Error,
            loading: false,
          }));
        }
      }
      if (!stopped && intervalMs) {
        timer = setTimeout(tick, intervalMs);
      }
    };
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [intervalMs]);

  return state;
}

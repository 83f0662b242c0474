import { useEffect, useRef } from 'react';

/**
 * Calls `poll` every `intervalMs` while `enabled`, never overlapping: the next
 * call is scheduled only after the previous one settled, so a slow backend is
 * not flooded with requests.
 */
export function usePolling(
  poll: () => Promise<void>,
  options: { intervalMs: number; enabled: boolean },
) {
  const pollRef = useRef(poll);
  pollRef.current = poll;
  const { intervalMs, enabled } = options;

  useEffect(() => {
    if (!enabled) {
      return undefined;
    }
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        await pollRef.current();
      } finally {
        if (!stopped) {
          timer = setTimeout(tick, intervalMs);
        }
      }
    };
    timer = setTimeout(tick, intervalMs);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [intervalMs, enabled]);
}

/**
 * Exponential backoff with "equal jitter": a random delay in
 * [ceiling / 2, ceiling], ceiling = min(max, base * 2^(attempt-1)), so that
 * many workers retrying the same flaky endpoint do not retry in lockstep
 * and no retry comes sooner than half the ceiling.
 */
export function backoffDelay(
  attempt: number,
  options: { baseDelayMs: number; maxDelayMs: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(
    options.maxDelayMs,
    options.baseDelayMs * 2 ** Math.max(0, attempt - 1),
  );
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

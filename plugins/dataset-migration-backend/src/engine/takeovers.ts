import type { LeaseTakeover } from '../database/clock';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * The end of a take-over's message: how long recovery took, on the
 * database's clock ("whose lease expired 4.2 s ago (last seen 6.1 s ago)").
 */
export function takeoverText(t: LeaseTakeover | undefined): string {
  if (!t) return 'whose lease expired';
  const seen =
    t.ownerSilentForMs === undefined
      ? ''
      : ` (last seen ${seconds(t.ownerSilentForMs)} ago)`;
  return `whose lease expired ${seconds(t.expiredForMs)} ago${seen}`;
}

/**
 * A take-over event's recovery fields: `leaseExpiredAt` and `expiredForMs`
 * (how long the lease sat expired before this replica took it), and
 * `fromLastSeenAt` and `fromSilentForMs` (the previous owner's last replica
 * heartbeat), all on the database's clock.
 */
export function takeoverDetails(
  t: LeaseTakeover | undefined,
): Record<string, unknown> {
  if (!t) return {};
  return {
    leaseExpiredAt: new Date(t.leaseExpiredAt).toISOString(),
    expiredForMs: t.expiredForMs,
    ...(t.ownerLastSeenAt !== undefined && {
      fromLastSeenAt: new Date(t.ownerLastSeenAt).toISOString(),
      fromSilentForMs: t.ownerSilentForMs,
    }),
  };
}

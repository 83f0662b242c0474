import type { ResponseError } from '@backstage/errors';
import {
  FINAL_MIGRATION_STATES,
  type MigrationState,
} from '@internal/backstage-plugin-dataset-migration-common';

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) {
    return '—';
  }
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  // 1048575.9 B rounds to "1024 KiB": step up a unit when rounding reaches it.
  if (Number(value.toFixed(digits)) >= 1024 && unit < BYTE_UNITS.length - 1) {
    return `${(value / 1024).toFixed(1)} ${BYTE_UNITS[unit + 1]}`;
  }
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** 3725 → "1h 2m 5s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    return '—';
  }
  const total = Math.round(seconds);
  if (total < 1) {
    return 'under a second';
  }
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return [h && `${h}h`, m && `${m}m`, s && `${s}s`].filter(Boolean).join(' ');
}

export function formatNumber(value: number): string {
  return new Intl.NumberFormat('en-US').format(value);
}

/** An ISO instant in the user's locale and time zone. */
export function formatTimestamp(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** The same, compact for tables: date and minutes, e.g. `12/3/26, 1:49 PM`. */
export function formatShortTimestamp(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(undefined, {
        dateStyle: 'short',
        timeStyle: 'short',
      });
}

/** Seconds from one ISO instant to another (or to now); NaN if unparsable. */
export function secondsBetween(fromIso: string, toIso?: string): number {
  const to = toIso ? Date.parse(toIso) : Date.now();
  return (to - Date.parse(fromIso)) / 1000;
}

export function isFinalState(state: MigrationState): boolean {
  return FINAL_MIGRATION_STATES.includes(state);
}

/**
 * The message worth showing a user. For API errors that is the server's own
 * message (the backend writes actionable ones), not "Request failed with 400".
 */
export function errorMessage(error: unknown): string {
  // Compared by name: the app may hold another copy of @backstage/errors.
  if (
    error instanceof Error &&
    error.name === 'ResponseError' &&
    (error as ResponseError).cause?.message
  ) {
    return (error as ResponseError).cause.message;
  }
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}

/** Backstage entity refs are case-insensitive; the backend stores them lower-cased. */
export function normalizeRef(ref: string): string {
  return ref.toLocaleLowerCase('en-US');
}

import type {
  Migration,
  MigrationEvent,
} from '@internal/backstage-plugin-dataset-migration-common';
import { formatBytes, formatNumber, formatTimestamp } from '../../format';
import { humanizeActor } from '../ActorName';
import { neverStarted } from '../../migrationStatus';
import { lastTransition, stoppedAtPlanReview } from './audit';

export interface Outcome {
  severity: 'success' | 'info' | 'warning' | 'error';
  text: string;
}

/**
 * The reason someone gave; not the engine's default `Cancelled by <ref>` /
 * `Rolled back by <ref>`, which the sentence already says better.
 */
function givenReason(migration: Migration): string {
  const reason = migration.reason?.trim();
  if (!reason || /^(Cancelled|Rolled back) by \S+$/.test(reason)) {
    return '';
  }
  return `: ${reason}`;
}

function by(event: MigrationEvent | undefined): string {
  if (!event) {
    return '';
  }
  const actor = event.actor ? ` by ${humanizeActor(event.actor)}` : '';
  return `${actor} on ${formatTimestamp(event.createdAt)}`;
}

/**
 * One sentence on where the migration stands and what it left behind in the
 * target; final states say so plainly (a rollback is not a success, a
 * migration cancelled at plan review wrote nothing).
 */
export function describeOutcome(
  migration: Migration,
  events: MigrationEvent[],
): Outcome | undefined {
  const { state, progress } = migration;
  const copy = progress.steps?.copy;
  const reason = givenReason(migration);
  const transition = lastTransition(migration, events);
  switch (state) {
    case 'planned':
    case 'awaiting-approval':
      return {
        severity: 'info',
        text: 'Waiting for approval. Nothing has been written yet; review the plan below.',
      };
    case 'queued':
      return {
        severity: 'info',
        text: 'Approved; waiting for a worker to start it.',
      };
    case 'running':
      return undefined;
    case 'succeeded':
      return {
        severity: 'success',
        text: `Succeeded: ${formatNumber(
          copy?.doneItems ?? 0,
        )} objects (${formatBytes(
          copy?.doneBytes ?? 0,
        )}) written and validated; the dataset now lives at ${
          migration.target.location
        }${
          migration.cutoverAt
            ? ` (cut over on ${formatTimestamp(migration.cutoverAt)})`
            : ''
        }.`,
      };
    case 'cancelled':
    case 'failed': {
      const verb = state === 'cancelled' ? 'Cancelled' : 'Failed';
      if (neverStarted(migration)) {
        const when = stoppedAtPlanReview(migration, events)
          ? 'at plan review'
          : 'before the copy began';
        return {
          severity: state === 'failed' ? 'error' : 'info',
          text: `${verb} ${when}${by(
            transition,
          )}: nothing was written to the target${
            state === 'failed' && migration.reason
              ? ` (${migration.reason})`
              : ''
          }.`,
        };
      }
      const written = `${formatNumber(
        copy?.doneItems ?? 0,
      )} objects (${formatBytes(
        copy?.doneBytes ?? 0,
      )}) were written to the target and stay there until you roll the migration back`;
      return state === 'cancelled'
        ? {
            severity: 'warning',
            text: `Cancelled${by(transition)}; ${written}.`,
          }
        : { severity: 'error', text: `Failed${reason}. ${written}.` };
    }
    case 'rolling-back':
      return {
        severity: 'warning',
        text: `Rolling back${
          transition?.details?.automatic ? ' after a failure' : ''
        }${reason}: deleting what the migration wrote and restoring the objects it overwrote.`,
      };
    case 'rolled-back':
      return {
        severity: 'info',
        text: `Rolled back${
          migration.finishedAt
            ? ` on ${formatTimestamp(migration.finishedAt)}`
            : ''
        }${reason}. The target is back in its state before the migration and the dataset's location is ${
          migration.source.location
        } again.`,
      };
    default:
      return undefined;
  }
}

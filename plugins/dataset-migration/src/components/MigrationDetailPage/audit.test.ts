import {
  makeEvent,
  makeMigration,
} from '../../__testUtils__/FakeDatasetMigrationApi';
import { auditEntries, stoppedAtPlanReview } from './audit';

const ENGINE = 'system:dataset-migration-engine';

describe('auditEntries', () => {
  it('keeps the decisions and outcomes, with who, when and the reason given', () => {
    const entries = auditEntries([
      makeEvent({ id: 1, type: 'created', actor: 'user:default/ada' }),
      makeEvent({
        id: 2,
        type: 'state-changed',
        message: 'planned → awaiting-approval',
        actor: 'user:default/ada',
        details: { from: 'planned', to: 'awaiting-approval' },
      }),
      makeEvent({
        id: 3,
        type: 'state-changed',
        message: 'awaiting-approval → queued',
        actor: 'user:default/ada',
        details: { to: 'queued', approved: true, autoApprove: true },
      }),
      makeEvent({ id: 4, type: 'step', actor: ENGINE }),
      makeEvent({
        id: 5,
        type: 'state-changed',
        message: 'running → failed: 2 object(s) could not be copied',
        actor: ENGINE,
        details: { from: 'running', to: 'failed' },
      }),
      makeEvent({
        id: 6,
        type: 'state-changed',
        message: 'failed → rolling-back',
        actor: ENGINE,
        details: { from: 'failed', to: 'rolling-back', automatic: true },
      }),
      makeEvent({
        id: 7,
        type: 'state-changed',
        message: 'rolling-back → rolled-back',
        actor: ENGINE,
        details: { from: 'rolling-back', to: 'rolled-back' },
      }),
    ]);
    expect(entries.map(e => [e.id, e.action, e.actor, e.note])).toEqual([
      [1, 'Planned', 'user:default/ada', undefined],
      [3, 'Approved automatically', 'user:default/ada', undefined],
      [5, 'Failed', ENGINE, '2 object(s) could not be copied'],
      [6, 'Rollback started automatically', ENGINE, undefined],
      [7, 'Rolled back', ENGINE, undefined],
    ]);
  });

  it('names approvals, retries (with their note), cancellations and requested rollbacks', () => {
    const entries = auditEntries([
      makeEvent({
        id: 1,
        type: 'state-changed',
        message: 'awaiting-approval → queued',
        details: { to: 'queued', approved: true },
      }),
      makeEvent({
        id: 2,
        type: 'state-changed',
        message: 'failed → running',
        details: { to: 'running', retry: true, note: 'network is back' },
      }),
      makeEvent({
        id: 3,
        type: 'state-changed',
        message: 'running → cancelled: wrong target',
        details: { to: 'cancelled' },
      }),
      makeEvent({
        id: 4,
        type: 'state-changed',
        message: 'cancelled → rolling-back',
        details: { to: 'rolling-back' },
      }),
    ]);
    expect(entries.map(e => [e.action, e.note])).toEqual([
      ['Approved', undefined],
      ['Retried', 'network is back'],
      ['Cancelled', 'wrong target'],
      ['Rollback requested', undefined],
    ]);
  });
});

describe('stoppedAtPlanReview', () => {
  const cancelled = makeMigration({ state: 'cancelled' });
  const cancelFrom = (from: string) =>
    makeEvent({
      id: 9,
      type: 'state-changed',
      details: { from, to: 'cancelled' },
    });

  it('is true when the migration was cancelled while awaiting approval', () => {
    expect(
      stoppedAtPlanReview(cancelled, [cancelFrom('awaiting-approval')]),
    ).toBe(true);
    expect(stoppedAtPlanReview(cancelled, [cancelFrom('running')])).toBe(false);
    expect(stoppedAtPlanReview(cancelled, [])).toBe(false);
  });
});

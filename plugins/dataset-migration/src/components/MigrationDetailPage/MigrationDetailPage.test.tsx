import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import type {
  MigrationEvent,
  ValidationReport,
} from '@internal/backstage-plugin-dataset-migration-common';
import type { ReactNode } from 'react';
import {
  FakeDatasetMigrationApi,
  makeEvent,
  makeMigration,
  makeReport,
  makeTransform,
} from '../../__testUtils__/FakeDatasetMigrationApi';
import { renderWithApis } from '../../__testUtils__/render';
import { formatTimestamp } from '../../format';
import { MigrationDetail, MigrationDetailPage } from './MigrationDetailPage';

// The <AutoSizer> inside <LogViewer> needs mocking to render in jsdom
jest.mock('react-virtualized-auto-sizer', () => ({
  __esModule: true,
  default: (props: {
    children: (size: { width: number; height: number }) => ReactNode;
  }) => <>{props.children({ width: 800, height: 400 })}</>,
}));

const CREATED: MigrationEvent = makeEvent({
  id: 1,
  type: 'created',
  message: 'Planned migration of resource:default/plays',
  actor: 'user:default/ada',
  createdAt: '2026-11-21T10:00:00.000Z',
});
const AWAITING: MigrationEvent = makeEvent({
  id: 2,
  type: 'state-changed',
  message: 'planned → awaiting-approval',
  actor: 'user:default/ada',
  details: { from: 'planned', to: 'awaiting-approval' },
});

function approved(id: number): MigrationEvent {
  return makeEvent({
    id,
    type: 'state-changed',
    message: 'awaiting-approval → queued',
    actor: 'user:default/grace',
    createdAt: '2026-11-21T10:01:00.000Z',
    details: { from: 'awaiting-approval', to: 'queued', approved: true },
  });
}

function step(id: number, name: string): MigrationEvent {
  return makeEvent({
    id,
    type: 'step',
    message: `Entering ${name}`,
    actor: 'system:dataset-migration-engine',
    details: { step: name },
  });
}

function failures(count: number): ValidationReport['failures'] {
  return Array.from({ length: count }, (_, i) => ({
    key: `part-${String(i).padStart(4, '0')}.csv`,
    problem: 'sha256 differs',
  }));
}

/** Looks and asserts in one go: LogViewer re-creates its rows on updates. */
async function expectLogLine(line: RegExp) {
  await waitFor(() =>
    expect(
      within(screen.getByTestId('event-log')).getByText(line),
    ).toBeInTheDocument(),
  );
}

describe('MigrationDetailPage', () => {
  it('shows the header, overview, plan, step progress with throughput and ETA, audit trail and log', async () => {
    const api = new FakeDatasetMigrationApi();
    // An hour ago: the seconds a test app takes to render hardly move the rate.
    const startedAt = new Date(Date.now() - 3600_000).toISOString();
    api.migrations = [
      makeMigration({
        state: 'running',
        step: 'copy',
        datasetOwner: 'group:default/data',
        stepStartedAt: startedAt,
        plan: { ...makeMigration().plan!, transform: makeTransform() },
        progress: {
          totalItems: 7200,
          doneItems: 3600,
          failedItems: 1,
          totalBytes: 14400 * 1024 ** 2,
          doneBytes: 7200 * 1024 ** 2,
          steps: {
            copy: {
              totalItems: 7200,
              doneItems: 3600,
              failedItems: 1,
              totalBytes: 14400 * 1024 ** 2,
              doneBytes: 7200 * 1024 ** 2,
            },
          },
        },
      }),
    ];
    api.events = [
      CREATED,
      AWAITING,
      approved(3),
      step(4, 'copy'),
      makeEvent({
        id: 5,
        level: 'warn',
        message: 'part-0007.csv: retrying after a timeout',
      }),
    ];

    renderWithApis(<MigrationDetail id="m-1" pollIntervalMs={60_000} />, {
      api,
    });

    const heading = await screen.findByRole('heading', {
      name: /Migration of/,
    });
    expect(within(heading).getByRole('link')).toHaveAttribute(
      'href',
      '/catalog/default/resource/plays',
    );
    expect(screen.getAllByTestId('migration-state')[0]).toHaveTextContent(
      'running',
    );

    // Overview
    expect(
      screen.getByText('Bulk copy (objects as they are)'),
    ).toBeInTheDocument();
    const overview = within(
      screen.getByText('Overview').closest('.MuiCard-root') as HTMLElement,
    );
    expect(overview.getByText('s3://raw/plays')).toBeInTheDocument();
    expect(overview.getByText('gs://archive/plays')).toBeInTheDocument();
    expect(
      screen.getAllByText(formatTimestamp('2026-11-21T10:00:00.000Z')).length,
    ).toBeGreaterThan(0);
    expect(
      screen
        .getAllByRole('link')
        .some(a => a.getAttribute('href') === '/catalog/default/group/data'),
    ).toBe(true);

    // Plan, with the transform's schema diff
    expect(screen.getByTestId('plan-preview')).toBeInTheDocument();
    expect(screen.getByTestId('plan-schema-diff')).toBeInTheDocument();

    // Per-step progress: counts, bytes, throughput and ETA of the running step
    const copy = screen.getByTestId('step-copy');
    expect(copy).toHaveTextContent('3,600 / 7,200 objects');
    expect(copy).toHaveTextContent('7.0 GiB / 14.1 GiB');
    expect(copy).toHaveTextContent('1 failed');
    // 7200 MiB in an hour: 2 MiB/s, and as long again for the rest
    expect(copy).toHaveTextContent(/2\.0 MiB\/s · about 1h( \d+s)? left/);

    // Audit trail: who planned and approved, with names, not refs
    const audit = within(screen.getByRole('table', { name: 'Audit trail' }));
    const planned = within(audit.getByText('Planned').closest('tr')!);
    expect(planned.getByRole('link')).toHaveAttribute(
      'href',
      '/catalog/default/user/ada',
    );
    const approval = within(audit.getByText('Approved').closest('tr')!);
    expect(approval.getByRole('link')).toHaveAttribute(
      'href',
      '/catalog/default/user/grace',
    );
    expect(
      approval.getByText(formatTimestamp('2026-11-21T10:01:00.000Z')),
    ).toBeInTheDocument();

    // The log: local time, level, actor by name
    await expectLogLine(
      new RegExp(
        `^${formatTimestamp(
          '2026-11-21T10:01:00.000Z',
        )} INFO awaiting-approval → queued \\(grace\\)$`.replace(/\//g, '\\/'),
      ),
    );
    await expectLogLine(/WARN part-0007\.csv: retrying after a timeout$/);

    // No report asked for before validation ran
    expect(api.callsTo('getReport')).toHaveLength(0);
  });

  it('approves from the page and shows the approval in the audit trail', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [
      makeMigration({
        state: 'awaiting-approval',
        step: undefined,
        progress: {
          totalItems: 0,
          doneItems: 0,
          failedItems: 0,
          totalBytes: 0,
          doneBytes: 0,
          steps: {},
        },
      }),
    ];
    api.events = [CREATED, AWAITING];
    const approve = api.approveMigration.bind(api);
    api.approveMigration = async (id, reason) => {
      api.events = [...api.events, approved(3)];
      return approve(id, reason);
    };

    renderWithApis(<MigrationDetail id="m-1" pollIntervalMs={60_000} />, {
      api,
    });

    expect(
      await screen.findByText(/Waiting for approval. Nothing has been written/),
    ).toBeInTheDocument();
    const button = await screen.findByRole('button', { name: 'Approve' });
    await waitFor(() => expect(button).toBeEnabled());
    fireEvent.click(button);

    await waitFor(() =>
      expect(api.callsTo('approveMigration')).toEqual([
        { method: 'approveMigration', args: ['m-1', undefined] },
      ]),
    );
    await waitFor(() =>
      expect(screen.getAllByTestId('migration-state')[0]).toHaveTextContent(
        'queued',
      ),
    );
    expect(
      await within(
        screen.getByRole('table', { name: 'Audit trail' }),
      ).findByText('Approved'),
    ).toBeInTheDocument();
    expect(
      screen.queryByRole('button', { name: 'Approve' }),
    ).not.toBeInTheDocument();
  });

  it('shows the validation report once validation ran, pages its failures and downloads it as JSON', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [
      makeMigration({
        state: 'rolled-back',
        step: undefined,
        reason: 'Validation failed: 23 object(s) differ',
        finishedAt: '2026-11-21T10:20:00.000Z',
        progress: {
          totalItems: 200,
          doneItems: 200,
          failedItems: 0,
          totalBytes: 4000,
          doneBytes: 4000,
          steps: {
            copy: {
              totalItems: 200,
              doneItems: 200,
              failedItems: 0,
              totalBytes: 4000,
              doneBytes: 4000,
            },
            rollback: {
              totalItems: 200,
              doneItems: 200,
              failedItems: 0,
              totalBytes: 4000,
              doneBytes: 4000,
            },
          },
        },
      }),
    ];
    const report = makeReport({
      passed: false,
      objects: { checked: 200, mismatched: 23, missing: 0 },
      failures: failures(23),
    });
    api.reports.set('m-1', report);
    api.events = [
      CREATED,
      step(2, 'copy'),
      makeEvent({
        id: 3,
        type: 'validation-report',
        level: 'error',
        message: 'Validation failed: 23 mismatched',
      }),
    ];

    const created: Blob[] = [];
    const createObjectURL = jest.fn((blob: Blob) => {
      created.push(blob);
      return 'blob:report';
    });
    const revokeObjectURL = jest.fn();
    Object.assign(URL, { createObjectURL, revokeObjectURL });
    const click = jest
      .spyOn(HTMLAnchorElement.prototype, 'click')
      .mockImplementation(function clickLink(this: HTMLAnchorElement) {
        expect(this.download).toBe('migration-m-1-validation-report.json');
      });

    renderWithApis(<MigrationDetail id="m-1" pollIntervalMs={60_000} />, {
      api,
    });

    expect(await screen.findByTestId('validation-report')).toHaveTextContent(
      'Validation failed',
    );
    expect(api.callsTo('getReport')).toHaveLength(1);

    // 23 failures, 10 a page
    const table = within(screen.getByTestId('validation-failures'));
    expect(
      table.getByText('Objects that failed validation (23)'),
    ).toBeInTheDocument();
    expect(table.getByText('part-0000.csv')).toBeInTheDocument();
    expect(table.getByText('part-0009.csv')).toBeInTheDocument();
    expect(table.queryByText('part-0010.csv')).not.toBeInTheDocument();
    fireEvent.click(table.getByRole('button', { name: /next page/i }));
    expect(await table.findByText('part-0010.csv')).toBeInTheDocument();
    expect(table.queryByText('part-0000.csv')).not.toBeInTheDocument();

    fireEvent.click(
      screen.getByRole('button', { name: 'Download report (JSON)' }),
    );
    expect(click).toHaveBeenCalledTimes(1);
    expect(created).toHaveLength(1);
    expect(created[0].type).toBe('application/json');
    expect(JSON.parse(await created[0].text())).toEqual(report);
    click.mockRestore();

    // After a rollback: nothing looks like a success, no 100 % copy bar
    expect(screen.getByTestId('migration-outcome')).toHaveTextContent(
      /^Rolled back on .*: Validation failed: 23 object\(s\) differ\. The target is back in its state before the migration/,
    );
    expect(screen.queryByTestId('step-copy')).not.toBeInTheDocument();
    expect(screen.getByTestId('step-rollback')).toHaveTextContent(
      '200 / 200 objects',
    );
  });

  it('says a migration cancelled at plan review wrote nothing, and offers neither rollback nor retry', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [
      makeMigration({
        state: 'cancelled',
        step: undefined,
        reason: 'Cancelled by user:default/ada',
        progress: {
          totalItems: 0,
          doneItems: 0,
          failedItems: 0,
          totalBytes: 0,
          doneBytes: 0,
          steps: {},
        },
      }),
    ];
    api.events = [
      CREATED,
      AWAITING,
      makeEvent({
        id: 3,
        type: 'state-changed',
        message: 'awaiting-approval → cancelled: Cancelled by user:default/ada',
        actor: 'user:default/ada',
        createdAt: '2026-11-21T10:02:00.000Z',
        details: { from: 'awaiting-approval', to: 'cancelled' },
      }),
    ];

    renderWithApis(<MigrationDetail id="m-1" pollIntervalMs={60_000} />, {
      api,
    });

    expect(await screen.findByTestId('migration-outcome')).toHaveTextContent(
      `Cancelled at plan review by ada on ${formatTimestamp(
        '2026-11-21T10:02:00.000Z',
      )}: nothing was written to the target.`,
    );
    expect(
      await screen.findByText(/Nothing to roll back or retry/),
    ).toBeInTheDocument();
    expect(
      screen.queryByRole('button', { name: 'Rollback' }),
    ).not.toBeInTheDocument();
    expect(
      screen.queryByRole('button', { name: 'Retry' }),
    ).not.toBeInTheDocument();
    const audit = within(screen.getByRole('table', { name: 'Audit trail' }));
    expect(audit.getByText('Cancelled')).toBeInTheDocument();
    expect(screen.queryByTestId('step-copy')).not.toBeInTheDocument();
    expect(api.callsTo('getReport')).toHaveLength(0);
  });

  it('offers rollback for a migration cancelled during the copy, saying what stays in the target', async () => {
    const api = new FakeDatasetMigrationApi();
    const copy = {
      totalItems: 200,
      doneItems: 50,
      failedItems: 0,
      totalBytes: 4000,
      doneBytes: 1000,
    };
    api.migrations = [
      makeMigration({
        state: 'cancelled',
        step: undefined,
        progress: { ...copy, steps: { copy } },
      }),
    ];
    api.events = [CREATED, approved(2), step(3, 'copy')];

    renderWithApis(<MigrationDetail id="m-1" pollIntervalMs={60_000} />, {
      api,
    });

    expect(await screen.findByTestId('migration-outcome')).toHaveTextContent(
      '50 objects (1000 B) were written to the target and stay there until you roll the migration back',
    );
    expect(
      await screen.findByRole('button', { name: 'Rollback' }),
    ).toBeInTheDocument();
    expect(screen.getByTestId('step-copy')).toHaveTextContent(
      '50 / 200 objects',
    );
  });

  it('filters the log by level', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [makeMigration({ state: 'succeeded', step: undefined })];
    api.events = [
      makeEvent({ id: 1, message: 'an info line' }),
      makeEvent({ id: 2, level: 'warn', message: 'a warning line' }),
      makeEvent({ id: 3, level: 'error', message: 'an error line' }),
    ];

    renderWithApis(<MigrationDetail id="m-1" pollIntervalMs={60_000} />, {
      api,
    });

    await expectLogLine(/an info line$/);
    expect(screen.getByRole('button', { name: 'info' })).toHaveTextContent(
      'info (1)',
    );
    fireEvent.click(screen.getByRole('button', { name: 'info' }));
    await expectLogLine(/a warning line$/);
    await expectLogLine(/an error line$/);
    expect(screen.queryByText(/an info line$/)).not.toBeInTheDocument();

    fireEvent.click(screen.getByRole('button', { name: 'warn' }));
    fireEvent.click(screen.getByRole('button', { name: 'error' }));
    await expectLogLine(/^No events at the selected levels$/);
  });

  it('reads the whole log page by page and polls only for newer events', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [makeMigration({ state: 'running' })];
    api.events = Array.from({ length: 1500 }, (_, i) =>
      makeEvent({ id: i + 1, message: `line ${i + 1}` }),
    );

    renderWithApis(<MigrationDetail id="m-1" pollIntervalMs={20} />, {
      api,
    });

    await waitFor(() =>
      expect(screen.getByRole('button', { name: 'info' })).toHaveTextContent(
        'info (1500)',
      ),
    );
    const afters = api
      .callsTo('listEvents')
      .map(c => (c.args[1] as { after: number }).after);
    expect(afters.slice(0, 2)).toEqual([0, 1000]);

    api.events = [...api.events, makeEvent({ id: 1501, message: 'new' })];
    await waitFor(() =>
      expect(screen.getByRole('button', { name: 'info' })).toHaveTextContent(
        'info (1501)',
      ),
    );
    expect(
      api
        .callsTo('listEvents')
        .map(c => (c.args[1] as { after: number }).after),
    ).toContain(1500);
  });

  it('says when the migration does not exist', async () => {
    const api = new FakeDatasetMigrationApi();

    renderWithApis(<MigrationDetail id="nope" pollIntervalMs={20} />, {
      api,
    });

    expect(await screen.findByText('Migration not found')).toBeInTheDocument();
    expect(
      screen.getByText(/There is no migration with the id "nope"/),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('link', { name: 'All migrations' }),
    ).toHaveAttribute('href', '/dataset-migrations');
    // A 404 is an answer: no more polling once it came (a poll already in
    // flight on a slow machine may still land), no events or report asked for.
    const asked = api.callsTo('getMigration').length;
    expect(asked).toBeLessThanOrEqual(2);
    await new Promise(r => setTimeout(r, 200));
    expect(api.callsTo('getMigration')).toHaveLength(asked);
    expect(api.callsTo('listEvents')).toHaveLength(0);
  });

  it('takes the id from the route', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [
      makeMigration({ id: 'm-42', state: 'succeeded', step: undefined }),
    ];

    renderWithApis(<MigrationDetailPage pollIntervalMs={60_000} />, {
      api,
      mountPath: '/dataset-migrations/:id',
      initialRouteEntries: ['/dataset-migrations/m-42'],
    });

    expect(await screen.findByText('m-42')).toBeInTheDocument();
    expect(api.callsTo('getMigration')[0].args).toEqual(['m-42']);
  });
});

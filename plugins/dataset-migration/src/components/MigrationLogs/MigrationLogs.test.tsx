import { screen, waitFor } from '@testing-library/react';
import type { MigrationEvent } from '@internal/backstage-plugin-dataset-migration-common';
import type { ReactNode } from 'react';
import {
  FakeDatasetMigrationApi,
  makeMigration,
} from '../../__testUtils__/FakeDatasetMigrationApi';
import { datasetEntity, renderWithApis } from '../../__testUtils__/render';
import { formatTimestamp } from '../../format';
import { DatasetMigrationCard } from '../DatasetMigrationCard';
import { MigrationLogs } from './MigrationLogs';

// The <AutoSizer> inside <LogViewer> needs mocking to render in jsdom
jest.mock('react-virtualized-auto-sizer', () => ({
  __esModule: true,
  default: (props: {
    children: (size: { width: number; height: number }) => ReactNode;
  }) => <>{props.children({ width: 400, height: 200 })}</>,
}));

function event(
  id: number,
  message: string,
  migrationId = 'm-1',
): MigrationEvent {
  return {
    id,
    migrationId,
    type: 'log',
    level: 'info',
    message,
    createdAt: `2026-11-21T10:00:0${id}.000Z`,
  };
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/**
 * LogViewer re-creates its rows on every update, so a line found a moment ago
 * may be detached by the time it is asserted on: look and assert in one go.
 * The first render of a test app is slow, hence the longer timeout.
 */
async function expectLogLine(line: RegExp) {
  await waitFor(() => expect(screen.getByText(line)).toBeInTheDocument(), {
    timeout: 5000,
  });
}

describe('MigrationLogs', () => {
  it('shows the events in the LogViewer and appends new ones, asking only for newer ids', async () => {
    const api = new FakeDatasetMigrationApi();
    api.events = [
      event(1, 'preflight passed'),
      event(2, 'copying 200 objects'),
    ];

    renderWithApis(
      <MigrationLogs migrationId="m-1" live pollIntervalMs={20} />,
      { api },
    );

    await expectLogLine(/copying 200 objects/);
    expect(screen.getByText(/preflight passed/)).toBeInTheDocument();

    api.events = [...api.events, event(3, 'copied part-0001.csv')];
    await expectLogLine(/copied part-0001\.csv/);

    const afters = api
      .callsTo('listEvents')
      .map(c => (c.args[1] as { after: number }).after);
    expect(afters[0]).toBe(0);
    expect(afters).toContain(2);
    expect(Math.max(...afters)).toBeLessThanOrEqual(3);
    // Each line once, in order, although it was polled many times.
    expect(screen.getAllByText(/preflight passed/)).toHaveLength(1);
    expect(screen.getAllByRole('row')).toHaveLength(3);
  });

  it('reports a failing log request and recovers on the next poll', async () => {
    const api = new FakeDatasetMigrationApi();
    api.events = [event(1, 'preflight passed')];
    const realListEvents = api.listEvents.bind(api);
    let down = true;
    api.listEvents = async (...args) => {
      if (down) {
        throw new Error('gateway timeout');
      }
      return realListEvents(...args);
    };

    renderWithApis(
      <MigrationLogs migrationId="m-1" live pollIntervalMs={20} />,
      { api },
    );

    expect(
      await screen.findByText('Could not load the log: gateway timeout'),
    ).toBeInTheDocument();
    expect(screen.queryByText(/preflight passed/)).toBeNull();

    down = false;
    await expectLogLine(/preflight passed/);
    await waitFor(() =>
      expect(screen.queryByText(/Could not load the log/)).toBeNull(),
    );
  });

  it('stops polling once the card sees the migration reach a final state', async () => {
    const api = new FakeDatasetMigrationApi();
    api.migrations = [makeMigration({ state: 'running', step: 'validate' })];
    api.events = [event(1, 'validating 200 objects')];

    renderWithApis(<DatasetMigrationCard pollIntervalMs={20} />, {
      api,
      entity: datasetEntity,
    });
    await expectLogLine(/validating 200 objects/);
    // Polling is running: more than the initial request goes out.
    await waitFor(() =>
      expect(api.callsTo('listEvents').length).toBeGreaterThan(2),
    );

    api.migrations = [makeMigration({ state: 'succeeded', step: undefined })];
    api.events = [...api.events, event(2, 'migration succeeded')];

    // The closing line still arrives (one last fetch after the final state).
    await expectLogLine(/migration succeeded/);
    expect(screen.getByTestId('migration-state')).toHaveTextContent(
      'succeeded',
    );
    const eventCalls = api.callsTo('listEvents').length;
    const migrationCalls = api.callsTo('getMigration').length;

    await sleep(200); // ten polling intervals

    expect(api.callsTo('listEvents')).toHaveLength(eventCalls);
    expect(api.callsTo('getMigration')).toHaveLength(migrationCalls);
  });

  it('shows each line in local time with the actor’s name, wrapped to the card’s width', async () => {
    const api = new FakeDatasetMigrationApi();
    api.events = [
      { ...event(1, 'awaiting-approval → queued'), actor: 'user:default/ana' },
      {
        ...event(2, 'Copying 6 objects'),
        actor: 'system:dataset-migration-engine',
      },
      { ...event(3, 'queued → cancelled'), actor: 'user:finance/bob' },
    ];

    renderWithApis(
      <MigrationLogs migrationId="m-1" live={false} pollIntervalMs={20} />,
      { api },
    );

    const local = formatTimestamp('2026-11-21T10:00:01.000Z');
    await expectLogLine(/awaiting-approval → queued/);
    const first = screen.getByText(/awaiting-approval → queued/);
    expect(first).toHaveTextContent(
      `${local} INFO awaiting-approval → queued (ana)`,
    );
    expect(first.textContent).not.toContain('2026-11-21T10:00:01');
    expect(first.className).toMatch(/textWrap/);
    // The engine is behind most lines: not named on each.
    expect(screen.getByText(/Copying 6 objects/).textContent).toMatch(
      /Copying 6 objects$/,
    );
    expect(screen.getByText(/queued → cancelled/)).toHaveTextContent(
      /\(finance\/bob\)$/,
    );
  });
});

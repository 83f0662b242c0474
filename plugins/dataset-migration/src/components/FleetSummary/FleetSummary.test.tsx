import { renderInTestApp } from '@backstage/frontend-test-utils';
import type { FleetStatus } from '@internal/backstage-plugin-dataset-migration-common';
import { screen, within } from '@testing-library/react';
import { formatTimestamp } from '../../format';
import { FleetSummary } from './FleetSummary';

const SEEN = '2026-11-21T10:00:00.000Z';
const STOPPED = '2026-11-21T09:30:00.000Z';

const fleet: FleetStatus = {
  queueDepth: 12,
  inFlight: 7,
  workers: [
    {
      id: 'replica-a',
      lastSeenAt: SEEN,
      inFlight: 4,
      state: 'active',
      leasedItems: 4,
      drivenMigrations: 2,
    },
    {
      id: 'replica-b',
      lastSeenAt: SEEN,
      inFlight: 1,
      state: 'active',
      leasedItems: 1,
      drivenMigrations: 0,
    },
    {
      id: 'replica-c',
      lastSeenAt: STOPPED,
      inFlight: 0,
      state: 'gone',
      stoppedAt: STOPPED,
      leasedItems: 0,
      drivenMigrations: 0,
    },
    // Died a moment ago: its leases have not expired yet.
    {
      id: 'replica-d',
      lastSeenAt: SEEN,
      inFlight: 0,
      state: 'gone',
      leasedItems: 2,
      drivenMigrations: 1,
    },
  ],
  migrations: { running: 2 },
  throughput: { itemsPerMinute: 57, bytesPerMinute: 1024 },
  errors: { retried: 2, failed: 1, attempts: 60, rate: 0.05 },
};

function worker(id: string) {
  return within(screen.getByTestId(`fleet-worker-${id}`));
}

describe('FleetSummary', () => {
  it('counts active replicas as workers, lists gone ones as gone, and shows the error rate', async () => {
    await renderInTestApp(<FleetSummary fleet={fleet} />);

    expect(screen.getByLabelText('Workers')).toHaveTextContent(/^2$/);
    expect(screen.getByLabelText('In flight')).toHaveTextContent('7');
    expect(screen.getByLabelText('Error rate')).toHaveTextContent('5.0%');
    expect(
      screen.getByText(
        'Copy attempts in the last minute: 60, of which 2 will be retried and 1 failed for good',
      ),
    ).toBeInTheDocument();
    expect(screen.getByText('2 replicas gone in the last hour')).toBeVisible();

    expect(screen.getByTestId('fleet-worker-replica-a')).toHaveTextContent(
      `replica-a: 4 in flight, 4 items leased, drives 2 migrations, last seen ${formatTimestamp(
        SEEN,
      )}`,
    );
    expect(screen.getByTestId('fleet-worker-replica-b')).toHaveTextContent(
      'replica-b: 1 in flight, 1 item leased, drives 0 migrations',
    );
    expect(worker('replica-a').queryByText('gone')).toBeNull();
    expect(worker('replica-b').queryByText('gone')).toBeNull();

    expect(worker('replica-c').getByText('gone')).toBeInTheDocument();
    expect(screen.getByTestId('fleet-worker-replica-c')).toHaveTextContent(
      `replica-cgone: stopped ${formatTimestamp(STOPPED)}`,
    );
    expect(worker('replica-d').getByText('gone')).toBeInTheDocument();
    expect(screen.getByTestId('fleet-worker-replica-d')).toHaveTextContent(
      `replica-dgone: 2 items leased, drives 1 migration, last seen ${formatTimestamp(
        SEEN,
      )}`,
    );
    // Gone replicas are styled apart from active ones.
    const activeClass = screen.getByTestId('fleet-worker-replica-a').className;
    expect(screen.getByTestId('fleet-worker-replica-c').className).not.toBe(
      activeClass,
    );
  });

  it('shows no rate before any copy attempt, and rounds large rates', async () => {
    const first = await renderInTestApp(
      <FleetSummary
        fleet={{
          ...fleet,
          errors: { retried: 0, failed: 0, attempts: 0, rate: 0 },
        }}
      />,
    );
    expect(screen.getByLabelText('Error rate')).toHaveTextContent('—');
    expect(screen.queryByText(/Copy attempts in the last minute/)).toBeNull();

    first.unmount();

    await renderInTestApp(
      <FleetSummary
        fleet={{
          ...fleet,
          errors: { retried: 3, failed: 0, attempts: 8, rate: 0.375 },
        }}
      />,
    );
    expect(screen.getByLabelText('Error rate')).toHaveTextContent('38%');
  });

  it('shows what an older backend reports: every listed replica is a worker', async () => {
    await renderInTestApp(
      <FleetSummary
        fleet={{
          queueDepth: 0,
          inFlight: 3,
          workers: [
            { id: 'old-a', lastSeenAt: SEEN, inFlight: 3 },
            { id: 'old-b', lastSeenAt: SEEN, inFlight: 0 },
          ],
          migrations: {},
          throughput: { itemsPerMinute: 0, bytesPerMinute: 0 },
        }}
      />,
    );
    expect(screen.getByLabelText('Workers')).toHaveTextContent(/^2$/);
    expect(screen.queryByLabelText('Error rate')).toBeNull();
    expect(screen.queryByText('gone')).toBeNull();
    expect(screen.getByTestId('fleet-worker-old-a')).toHaveTextContent(
      `old-a: 3 in flight, last seen ${formatTimestamp(SEEN)}`,
    );
  });
});

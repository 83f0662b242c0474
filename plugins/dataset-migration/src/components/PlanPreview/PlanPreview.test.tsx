import { screen, within } from '@testing-library/react';
import {
  FakeDatasetMigrationApi,
  makePlan,
  makeTransform,
} from '../../__testUtils__/FakeDatasetMigrationApi';
import { renderWithApis } from '../../__testUtils__/render';
import { PlanPreview } from './PlanPreview';

function renderPlan(plan = makePlan()) {
  return renderWithApis(<PlanPreview plan={plan} />, {
    api: new FakeDatasetMigrationApi(),
  });
}

/** Each body row of the schema diff as its three cells' text. */
function diffRows(): string[][] {
  const table = screen.getByTestId('plan-schema-diff');
  return within(table)
    .getAllByRole('row')
    .slice(1)
    .map(row =>
      within(row)
        .getAllByRole('cell')
        .map(cell => cell.textContent ?? ''),
    );
}

describe('PlanPreview', () => {
  it('shows no transform section for a bulk copy', async () => {
    await renderPlan();
    expect(screen.getByTestId('plan-preview')).toBeInTheDocument();
    expect(screen.queryByTestId('plan-transform')).toBeNull();
    expect(screen.queryByTestId('plan-schema-diff')).toBeNull();
  });

  it('shows the transform: formats, mapping, objects, schema source, filter and bad rows', async () => {
    await renderPlan(makePlan({ transform: makeTransform() }));
    const t = within(screen.getByTestId('plan-transform'));
    expect(t.getByText('csv → parquet')).toBeInTheDocument();
    expect(
      t.getByText(/the dataset’s mapping annotation/).textContent,
    ).toContain('dataset-migration.io/mapping');
    const hash = t.getByText('sha256:84ed3fd17828');
    expect(hash).toHaveAttribute(
      'title',
      'sha256:84ed3fd17828167ce510bd6c8140c9aeec0d5e68740de75db21fbe115841f0ac',
    );
    expect(
      t.getByText('3 transformed, 1 copied as they are'),
    ).toBeInTheDocument();
    expect(t.getByText('object 2026/01.csv')).toBeInTheDocument();
    expect(t.getByText('status ≠ "cancelled"')).toBeInTheDocument();
    // The mapping names no policy: the default applies.
    expect(
      t.getByText(/^fail: a value that cannot be cast/),
    ).toBeInTheDocument();
  });

  it('says how many objects are transformed in parts', async () => {
    const transform = makeTransform();
    transform.objects = { ...transform.objects, inParts: 2, partMiB: 1024 };
    await renderPlan(makePlan({ transform }));
    const t = within(screen.getByTestId('plan-transform'));
    expect(
      t.getByText(
        '3 transformed, 1 copied as they are; 2 larger than 2,048 MiB transformed in parts that several workers share',
      ),
    ).toBeInTheDocument();
  });

  it('names a mapping from the request and its bad-row policy', async () => {
    const transform = makeTransform({ mappingSource: 'request' });
    transform.mapping = { ...transform.mapping, badRows: 'quarantine' };
    await renderPlan(makePlan({ transform }));
    const t = within(screen.getByTestId('plan-transform'));
    expect(t.getByText(/given in the request/)).toBeInTheDocument();
    expect(t.getByText(/^quarantine: rows with a value/)).toBeInTheDocument();
  });

  it('renders one schema diff row per column change, of every kind', async () => {
    await renderPlan(makePlan({ transform: makeTransform() }));
    expect(diffRows()).toEqual([
      ['id VARCHAR', 'rename + cast', 'order_id BIGINT'],
      ['customer_id VARCHAR', 'rename', 'customer VARCHAR'],
      ['quantity VARCHAR', 'cast', 'quantity INTEGER'],
      ['status VARCHAR', 'keep', 'status VARCHAR'],
      ['note VARCHAR', 'keep, nulls become ""', 'note VARCHAR'],
      ['customer_ip VARCHAR', 'drop', '—'],
      ['default "legacy-shop"', 'add', 'source_system VARCHAR'],
    ]);
  });

  it('shows parameterised DuckDB types as they are', async () => {
    await renderPlan(
      makePlan({
        transform: makeTransform({
          columns: [
            {
              source: { name: 'amount', type: 'VARCHAR' },
              target: { name: 'amount_eur', type: 'DECIMAL(12,2)' },
              change: 'rename+cast',
            },
            {
              source: { name: 'created', type: 'VARCHAR' },
              target: { name: 'created_at', type: 'TIMESTAMP WITH TIME ZONE' },
              change: 'rename+cast',
            },
            {
              target: { name: 'active', type: 'BOOLEAN' },
              change: 'add',
              default: true,
            },
          ],
        }),
      }),
    );
    expect(diffRows()).toEqual([
      ['amount VARCHAR', 'rename + cast', 'amount_eur DECIMAL(12,2)'],
      [
        'created VARCHAR',
        'rename + cast',
        'created_at TIMESTAMP WITH TIME ZONE',
      ],
      ['default true', 'add', 'active BOOLEAN'],
    ]);
  });
});

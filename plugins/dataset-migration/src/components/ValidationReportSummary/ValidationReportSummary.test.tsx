import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  FakeDatasetMigrationApi,
  makeReport,
  makeTransformValidation,
} from '../../__testUtils__/FakeDatasetMigrationApi';
import { renderWithApis } from '../../__testUtils__/render';
import { ValidationReportSummary } from './ValidationReportSummary';

function renderReport(report = makeReport()) {
  return renderWithApis(<ValidationReportSummary report={report} />, {
    api: new FakeDatasetMigrationApi(),
  });
}

describe('ValidationReportSummary', () => {
  it('shows only the object layers for a bulk copy', async () => {
    await renderReport();
    expect(screen.getByText(/^Validation passed/)).toBeInTheDocument();
    expect(
      screen.getByText('4 objects checked, 0 mismatched, 0 missing'),
    ).toBeInTheDocument();
    expect(screen.queryByTestId('validation-transform')).toBeNull();
    expect(screen.queryByTestId('validation-verify')).toBeNull();
  });

  it('says how many objects were verified by checksum and how many re-read', async () => {
    await renderReport(
      makeReport({
        objects: { checked: 10_000, mismatched: 0, missing: 0 },
        methods: { 'checksum-md5': 9_998, sha256: 2 },
        verify: {
          mode: 'auto',
          methods: { checksum: 9_998, full: 2, none: 0 },
          fellBackToFull: ['a.bin', 'b.bin'],
        },
      }),
    );
    expect(screen.getByTestId('validation-verify')).toHaveTextContent(
      'Verified 9,998 by checksum, 2 by re-reading',
    );
  });

  it('shows the record layers of a transform, the quarantine and, on request, how they were checked', async () => {
    await renderReport(
      makeReport({
        methods: { transform: 4 },
        transform: makeTransformValidation(),
      }),
    );
    const layers = within(screen.getByTestId('validation-transform'));
    expect(layers.getByTestId('layer-rows')).toHaveTextContent(
      'Rows match: 4 in the target of 4 expected (6 read, 1 filtered out, 1 bad, 1 quarantined)',
    );
    expect(layers.getByTestId('layer-sample')).toHaveTextContent(
      'Sampled records match: 4 compared field by field, 0 mismatched (up to 20 per object)',
    );
    expect(layers.getByTestId('layer-schema')).toHaveTextContent(
      'Schema matches: every object has the 2 target columns',
    );
    expect(
      layers.getByText(
        'file://targets/.dataset-migration-backups/m-1/.quarantine',
      ),
    ).toBeInTheDocument();
    expect(layers.queryByText(/copied as they are/)).toBeNull();

    expect(layers.queryByTestId('validation-methods')).toBeNull();
    await userEvent.click(
      layers.getByRole('button', { name: 'How it was checked' }),
    );
    const methods = within(layers.getByTestId('validation-methods'));
    expect(methods.getAllByRole('listitem')).toHaveLength(2);
    expect(methods.getByText(/^Row counts: every target object/)).toBeVisible();
    await userEvent.click(
      layers.getByRole('button', { name: 'Hide how it was checked' }),
    );
    expect(layers.queryByTestId('validation-methods')).toBeNull();
  });

  it('marks the layers that differ', async () => {
    await renderReport(
      makeReport({
        passed: false,
        transform: makeTransformValidation({
          rows: {
            source: 6,
            filtered: 0,
            bad: 0,
            quarantined: 0,
            expected: 6,
            target: 5,
            matches: false,
          },
          sample: { perObject: 20, compared: 5, mismatched: 2, matches: false },
          schema: { expected: [], matches: false, mismatchedObjects: 1 },
          copiedObjects: 2,
          quarantine: undefined,
        }),
      }),
    );
    expect(screen.getByText(/^Validation failed/)).toBeInTheDocument();
    const layers = within(screen.getByTestId('validation-transform'));
    expect(layers.getByTestId('layer-rows')).toHaveTextContent(
      'Rows differ: 5 in the target of 6 expected',
    );
    expect(layers.getByTestId('layer-sample')).toHaveTextContent(
      'Sampled records differ: 5 compared field by field, 2 mismatched',
    );
    expect(layers.getByTestId('layer-schema')).toHaveTextContent(
      'Schema differs: 1 object(s) without the target columns and types',
    );
    expect(
      layers.getByText('2 object(s) copied as they are'),
    ).toBeInTheDocument();
    expect(layers.queryByText(/Quarantined rows/)).toBeNull();
  });
});

import { InfoCard, Table, type TableColumn } from '@backstage/core-components';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Typography from '@material-ui/core/Typography';
import GetAppIcon from '@material-ui/icons/GetApp';
import type { ValidationReport } from '@internal/backstage-plugin-dataset-migration-common';
import { useMemo } from 'react';
import { formatNumber } from '../../format';
import { ValidationReportSummary } from '../ValidationReportSummary';
import { downloadJson } from './download';

type Failure = ValidationReport['failures'][number];

const PAGE_SIZE = 10;

const columns: TableColumn<Failure>[] = [
  {
    title: 'Object',
    field: 'key',
    render: failure => <code>{failure.key}</code>,
  },
  { title: 'Problem', field: 'problem' },
];

/**
 * The validation report: its summary, every object it lists as failed (the
 * API keeps up to 100) in pages, and the whole report as a JSON download.
 */
export const ValidationReportCard = (props: { report: ValidationReport }) => {
  const { report } = props;
  const problems = report.objects.mismatched + report.objects.missing;
  // The table writes its bookkeeping into row objects; keep the report clean
  // for the download.
  const rows = useMemo(
    () => report.failures.map(failure => ({ ...failure })),
    [report.failures],
  );
  return (
    <InfoCard
      title="Validation report"
      action={
        <Box mt={1} mr={1}>
          <Button
            variant="outlined"
            size="small"
            startIcon={<GetAppIcon />}
            onClick={() =>
              downloadJson(
                `migration-${report.migrationId}-validation-report.json`,
                report,
              )
            }
          >
            Download report (JSON)
          </Button>
        </Box>
      }
    >
      <ValidationReportSummary report={report} />
      {report.failures.length > 0 && (
        <Box mt={2} data-testid="validation-failures">
          <Table<Failure>
            title={`Objects that failed validation (${formatNumber(
              report.failures.length,
            )})`}
            subtitle={
              problems > report.failures.length
                ? `The report lists the first ${formatNumber(
                    report.failures.length,
                  )} of ${formatNumber(problems)}; the download has the same.`
                : undefined
            }
            options={{
              paging: report.failures.length > PAGE_SIZE,
              pageSize: PAGE_SIZE,
              pageSizeOptions: [10, 25, 50, 100],
              padding: 'dense',
            }}
            columns={columns}
            data={rows}
          />
        </Box>
      )}
      {report.failures.length === 0 && !report.passed && (
        <Typography variant="body2" color="textSecondary">
          No single object failed; see the manifest and record checks above.
        </Typography>
      )}
    </InfoCard>
  );
};

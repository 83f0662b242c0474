import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import CheckCircleIcon from '@material-ui/icons/CheckCircle';
import ErrorIcon from '@material-ui/icons/Error';
import type { ValidationReport } from '@internal/backstage-plugin-dataset-migration-common';
import { formatBytes, formatNumber, formatTimestamp } from '../../format';
import { TransformLayers } from './TransformLayers';

const MAX_FAILURES_SHOWN = 5;

/** "Verified 9,998 by checksum, 2 by re-reading", or undefined for old reports. */
function describeVerify(verify: ValidationReport['verify']) {
  if (!verify) return undefined;
  const { checksum, full, none } = verify.methods;
  const ways = [
    checksum > 0 && `${formatNumber(checksum)} by checksum`,
    full > 0 && `${formatNumber(full)} by re-reading`,
    none > 0 && `${formatNumber(none)} by size only`,
  ].filter(Boolean);
  return ways.length > 0 ? `Verified ${ways.join(', ')}` : undefined;
}

/** One-glance summary of a migration's validation report. */
export const ValidationReportSummary = (props: {
  report: ValidationReport;
}) => {
  const { report } = props;
  const { source, target, matches } = report.manifest;
  const methods = Object.entries(report.methods)
    .map(([method, count]) => `${method}: ${formatNumber(count)}`)
    .join(', ');
  const verified = describeVerify(report.verify);
  return (
    <Box data-testid="validation-report">
      <Box display="flex" alignItems="center" mb={1}>
        {report.passed ? (
          <CheckCircleIcon fontSize="small" color="primary" />
        ) : (
          <ErrorIcon fontSize="small" color="error" />
        )}
        <Box ml={1}>
          <Typography variant="subtitle2">
            Validation {report.passed ? 'passed' : 'failed'} (
            {formatTimestamp(report.checkedAt)})
          </Typography>
        </Box>
      </Box>
      <Typography variant="body2">
        {formatNumber(report.objects.checked)} objects checked,{' '}
        {formatNumber(report.objects.mismatched)} mismatched,{' '}
        {formatNumber(report.objects.missing)} missing
      </Typography>
      <Typography variant="body2">
        Manifest {matches ? 'matches' : 'differs'}: source{' '}
        {formatNumber(source.count)} objects / {formatBytes(source.bytes)},
        target {formatNumber(target.count)} objects /{' '}
        {formatBytes(target.bytes)}
      </Typography>
      {verified && (
        <Typography variant="body2" data-testid="validation-verify">
          {verified}
        </Typography>
      )}
      {methods && (
        <Typography variant="body2" color="textSecondary">
          Compared by {methods}
        </Typography>
      )}
      {report.transform && <TransformLayers transform={report.transform} />}
      {report.failures.length > 0 && (
        <Box component="ul" mt={1} mb={0}>
          {report.failures.slice(0, MAX_FAILURES_SHOWN).map(failure => (
            <li key={failure.key}>
              <Typography variant="body2">
                <code>{failure.key}</code>: {failure.problem}
              </Typography>
            </li>
          ))}
          {report.failures.length > MAX_FAILURES_SHOWN && (
            <li>
              <Typography variant="body2">
                and {report.failures.length - MAX_FAILURES_SHOWN} more
              </Typography>
            </li>
          )}
        </Box>
      )}
    </Box>
  );
};

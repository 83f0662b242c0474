import Box from '@material-ui/core/Box';
import FormControl from '@material-ui/core/FormControl';
import FormHelperText from '@material-ui/core/FormHelperText';
import InputLabel from '@material-ui/core/InputLabel';
import MenuItem from '@material-ui/core/MenuItem';
import Select from '@material-ui/core/Select';
import TextField from '@material-ui/core/TextField';
import {
  ANNOTATION_DATASET_FORMAT,
  ANNOTATION_DATASET_MAPPING,
  DATASET_FORMATS,
  type DatasetFormat,
  type MigrationStrategy,
  parseLocation,
  TABULAR_FORMATS,
} from '@internal/backstage-plugin-dataset-migration-common';
import { type FormEvent, useState } from 'react';

/** @internal */
export interface MigrateFormValues {
  location: string;
  format?: DatasetFormat;
  strategy: MigrationStrategy;
}

/** Why schema-transform cannot be chosen for this dataset, if it cannot. */
function transformUnavailableReason(
  format: DatasetFormat | undefined,
  hasMapping: boolean,
): string | undefined {
  if (!format) {
    return `Transforms need a dataset of known format: set its ${ANNOTATION_DATASET_FORMAT} annotation (${TABULAR_FORMATS.join(
      ', ',
    )})`;
  }
  if (!(TABULAR_FORMATS as readonly string[]).includes(format)) {
    return `Transforms read ${TABULAR_FORMATS.join(
      ', ',
    )} datasets; this one is ${format}`;
  }
  if (!hasMapping) {
    return `To transform, add a mapping (YAML or JSON: fields, drop, filter, format) to the dataset’s ${ANNOTATION_DATASET_MAPPING} annotation; see docs/transforms.md`;
  }
  return undefined;
}

const STRATEGY_HELP: Record<MigrationStrategy, string> = {
  'bulk-copy': 'Copies every object as is, verifying checksums',
  'schema-transform':
    'Rewrites the records through the dataset’s mapping; the plan shows the schema diff',
};

const LOCATION_HELP =
  'Where to copy the data: s3://bucket/prefix, gs://bucket/prefix, file:///path, or file://<root>/path for a configured local root';

/**
 * Target, format and strategy of a new migration. Checks the location's
 * syntax locally for quick feedback; everything else (allowed roots, bucket
 * access) is for the backend to judge.
 */
export const MigrateForm = (props: {
  id: string;
  currentLocation?: string;
  currentFormat?: DatasetFormat;
  /** Whether the dataset has a mapping annotation (for schema-transform). */
  hasMapping?: boolean;
  onSubmit: (values: MigrateFormValues) => void;
  /**
   * Called on each submit, before the local checks, so the dialog can drop
   * what the backend said about the previous attempt.
   */
  onAttempt?: () => void;
}) => {
  const { onAttempt } = props;
  const [location, setLocation] = useState('');
  const [format, setFormat] = useState<DatasetFormat | ''>(
    props.currentFormat ?? '',
  );
  const [locationError, setLocationError] = useState<string>();
  const [strategy, setStrategy] = useState<MigrationStrategy>('bulk-copy');
  // Only the dataset's own mapping is offered (no mapping editor here; the
  // scaffolder template accepts one).
  const transformUnavailable = transformUnavailableReason(
    props.currentFormat,
    !!props.hasMapping,
  );
  const transform = strategy === 'schema-transform';

  const submit = (event: FormEvent) => {
    event.preventDefault();
    onAttempt?.();
    const trimmed = location.trim();
    try {
      const parsed = parseLocation(trimmed);
      if (
        props.currentLocation &&
        parsed.uri === safeNormalise(props.currentLocation)
      ) {
        setLocationError('The target is the dataset’s current location');
        return;
      }
    } catch (e) {
      setLocationError((e as Error).message);
      return;
    }
    setLocationError(undefined);
    props.onSubmit({
      location: trimmed,
      // The mapping names the target format; the backend refuses another.
      format: transform ? undefined : format || undefined,
      strategy,
    });
  };

  return (
    <form id={props.id} onSubmit={submit} noValidate>
      <TextField
        label="Target location"
        placeholder="s3://bucket/prefix"
        value={location}
        onChange={e => setLocation(e.target.value)}
        error={!!locationError}
        helperText={locationError ?? LOCATION_HELP}
        fullWidth
        required
        margin="normal"
        inputProps={{ 'aria-label': 'Target location' }}
      />
      <Box display="flex" mt={1}>
        <Box flex={1} mr={2}>
          <FormControl fullWidth>
            <InputLabel id="migrate-strategy-label">Strategy</InputLabel>
            <Select
              labelId="migrate-strategy-label"
              value={strategy}
              onChange={e => setStrategy(e.target.value as MigrationStrategy)}
            >
              <MenuItem value="bulk-copy">Copy as is (bulk-copy)</MenuItem>
              <MenuItem
                value="schema-transform"
                disabled={!!transformUnavailable}
              >
                Transform with the dataset’s mapping (schema-transform)
              </MenuItem>
            </Select>
            <FormHelperText>{STRATEGY_HELP[strategy]}</FormHelperText>
          </FormControl>
        </Box>
        <Box flex={1}>
          <FormControl fullWidth>
            <InputLabel id="migrate-format-label">Format</InputLabel>
            {transform ? (
              <Select labelId="migrate-format-label" value="mapping" disabled>
                <MenuItem value="mapping">set by the mapping</MenuItem>
              </Select>
            ) : (
              <Select
                labelId="migrate-format-label"
                value={format}
                onChange={e => setFormat(e.target.value as DatasetFormat | '')}
              >
                {!props.currentFormat && (
                  <MenuItem value="">Unspecified</MenuItem>
                )}
                {DATASET_FORMATS.map(f => (
                  <MenuItem
                    key={f}
                    value={f}
                    disabled={
                      !!props.currentFormat && f !== props.currentFormat
                    }
                  >
                    {f}
                    {props.currentFormat &&
                      f !== props.currentFormat &&
                      ' (conversion needs schema-transform)'}
                  </MenuItem>
                ))}
              </Select>
            )}
            <FormHelperText>
              {transform
                ? 'The mapping’s format (the plan shows it)'
                : `Bulk copy keeps the source format${
                    props.currentFormat ? ` (${props.currentFormat})` : ''
                  }`}
            </FormHelperText>
          </FormControl>
        </Box>
      </Box>
      {transformUnavailable && (
        <Box mt={1}>
          <FormHelperText data-testid="transform-unavailable">
            {transformUnavailable}
          </FormHelperText>
        </Box>
      )}
    </form>
  );
};

function safeNormalise(uri: string): string | undefined {
  try {
    return parseLocation(uri).uri;
  } catch {
    return undefined;
  }
}

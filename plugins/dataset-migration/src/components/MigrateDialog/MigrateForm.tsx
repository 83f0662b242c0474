import Box from '@material-ui/core/Box';
import FormControl from '@material-ui/core/FormControl';
import FormHelperText from '@material-ui/core/FormHelperText';
import InputLabel from '@material-ui/core/InputLabel';
import MenuItem from '@material-ui/core/MenuItem';
import Select from '@material-ui/core/Select';
import TextField from '@material-ui/core/TextField';
import {
  DATASET_FORMATS,
  type DatasetFormat,
  type MigrationStrategy,
  parseLocation,
} from '@internal/backstage-plugin-dataset-migration-common';
import { type FormEvent, useState } from 'react';

/** @internal */
export interface MigrateFormValues {
  location: string;
  format?: DatasetFormat;
  strategy: MigrationStrategy;
}

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
  onSubmit: (values: MigrateFormValues) => void;
}) => {
  const [location, setLocation] = useState('');
  const [format, setFormat] = useState<DatasetFormat | ''>(
    props.currentFormat ?? '',
  );
  const [locationError, setLocationError] = useState<string>();
  // Only bulk-copy is offered: schema-transform needs a mapping editor, which
  // this dialog does not have yet (the scaffolder template accepts a mapping).
  const strategy: MigrationStrategy = 'bulk-copy';

  const submit = (event: FormEvent) => {
    event.preventDefault();
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
      format: format || undefined,
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
            <InputLabel id="migrate-format-label">Format</InputLabel>
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
                  disabled={!!props.currentFormat && f !== props.currentFormat}
                >
                  {f}
                  {props.currentFormat &&
                    f !== props.currentFormat &&
                    ' (conversion needs schema-transform)'}
                </MenuItem>
              ))}
            </Select>
            <FormHelperText>
              Bulk copy keeps the source format
              {props.currentFormat ? ` (${props.currentFormat})` : ''}
            </FormHelperText>
          </FormControl>
        </Box>
        <Box flex={1}>
          <FormControl fullWidth>
            <InputLabel id="migrate-strategy-label">Strategy</InputLabel>
            <Select labelId="migrate-strategy-label" value={strategy}>
              <MenuItem value="bulk-copy">bulk-copy</MenuItem>
              <MenuItem value="schema-transform" disabled>
                schema-transform (coming soon)
              </MenuItem>
            </Select>
            <FormHelperText>
              Copies every object as is, verifying checksums
            </FormHelperText>
          </FormControl>
        </Box>
      </Box>
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

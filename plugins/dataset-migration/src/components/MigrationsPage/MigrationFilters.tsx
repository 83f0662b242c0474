import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import MenuItem from '@material-ui/core/MenuItem';
import TextField from '@material-ui/core/TextField';
import { Autocomplete } from '@material-ui/lab';
import {
  MIGRATION_STATES,
  type MigrationState,
} from '@internal/backstage-plugin-dataset-migration-common';

/** The filters of the migrations list, as the API takes them. */
export interface MigrationFilterValues {
  state?: MigrationState;
  dataset?: string;
  owner?: string;
}

/**
 * An entity ref field that suggests the refs seen so far and takes any
 * other typed one (on Enter or on leaving the field).
 */
const RefFilter = (props: {
  label: string;
  placeholder: string;
  helperText: string;
  options: string[];
  value?: string;
  onChange: (value?: string) => void;
}) => (
  <Box flex="1 1 260px" minWidth={220}>
    <Autocomplete
      freeSolo
      autoSelect
      options={props.options}
      value={props.value ?? null}
      onChange={(_event, value) => props.onChange(value?.trim() || undefined)}
      renderInput={params => (
        <TextField
          {...params}
          label={props.label}
          placeholder={props.placeholder}
          helperText={props.helperText}
          inputProps={{ ...params.inputProps, 'aria-label': props.label }}
        />
      )}
    />
  </Box>
);

/** State, dataset and owner filters of the Migrations page. */
export const MigrationFilters = (props: {
  value: MigrationFilterValues;
  onChange: (value: MigrationFilterValues) => void;
  /** Refs to suggest: those of the migrations listed so far. */
  datasets: string[];
  owners: string[];
}) => {
  const { value, onChange } = props;
  const active = !!(value.state || value.dataset || value.owner);
  return (
    <Box
      display="flex"
      flexWrap="wrap"
      alignItems="flex-start"
      style={{ gap: 16 }}
      data-testid="migration-filters"
    >
      <Box flex="0 1 200px" minWidth={160}>
        <TextField
          id="migration-filter-state"
          select
          fullWidth
          label="State"
          SelectProps={{ displayEmpty: true }}
          InputLabelProps={{ shrink: true }}
          value={value.state ?? ''}
          onChange={e =>
            onChange({
              ...value,
              state: (e.target.value || undefined) as MigrationState,
            })
          }
          helperText=" "
        >
          <MenuItem value="">Any</MenuItem>
          {MIGRATION_STATES.map(state => (
            <MenuItem key={state} value={state}>
              {state}
            </MenuItem>
          ))}
        </TextField>
      </Box>
      <RefFilter
        label="Dataset"
        placeholder="resource:default/plays"
        helperText="Entity ref of the dataset"
        options={props.datasets}
        value={value.dataset}
        onChange={dataset => onChange({ ...value, dataset })}
      />
      <RefFilter
        label="Owner"
        placeholder="group:default/data-platform"
        helperText="The dataset's owner when planned; kind defaults to group"
        options={props.owners}
        value={value.owner}
        onChange={owner => onChange({ ...value, owner })}
      />
      {active && (
        <Box pt={2}>
          <Button onClick={() => onChange({})}>Clear filters</Button>
        </Box>
      )}
    </Box>
  );
};

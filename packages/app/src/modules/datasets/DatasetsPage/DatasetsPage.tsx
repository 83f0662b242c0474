import type { TableColumn } from '@backstage/core-components';
import { configApiRef, useApi } from '@backstage/frontend-plugin-api';
import { CatalogTable, type CatalogTableRow } from '@backstage/plugin-catalog';
import {
  CatalogFilterLayout,
  EntityListProvider,
  EntityOwnerPicker,
  EntityTagPicker,
  useEntityList,
  UserListPicker,
  type DefaultEntityFilters,
} from '@backstage/plugin-catalog-react';
import { Container, Header } from '@backstage/ui';
import { ANNOTATION_DATASET_LOCATION } from '@internal/backstage-plugin-dataset-migration-common';
import Typography from '@material-ui/core/Typography';
import { Fragment, useEffect } from 'react';
import { DatasetFilter } from '../DatasetFilter';

type DatasetEntityFilters = DefaultEntityFilters & { dataset?: DatasetFilter };

function locationOf(row: CatalogTableRow): string {
  return row.entity.metadata.annotations?.[ANNOTATION_DATASET_LOCATION] ?? '';
}

/** A location that wraps after its slashes rather than inside a word. */
const Location = ({ location }: { location: string }) => (
  <code>
    {location.split(/(?<=\/)/).map((part, index) => (
      <Fragment key={index}>
        {part}
        <wbr />
      </Fragment>
    ))}
  </code>
);

const columns: TableColumn<CatalogTableRow>[] = [
  CatalogTable.columns.createTitleColumn({ hidden: true }),
  { ...CatalogTable.columns.createNameColumn(), cellStyle: { minWidth: 180 } },
  { title: 'Kind', field: 'entity.kind', width: 'auto' },
  CatalogTable.columns.createOwnerColumn(),
  {
    title: 'Location',
    customSort: (a, b) => locationOf(a).localeCompare(locationOf(b)),
    render: row => <Location location={locationOf(row)} />,
  },
  CatalogTable.columns.createTagsColumn(),
];

/** Restricts the list to datasets, in place of the catalog's kind picker. */
const DatasetsOnly = () => {
  const { updateFilters } = useEntityList<DatasetEntityFilters>();
  useEffect(() => {
    updateFilters({ dataset: new DatasetFilter() });
  }, [updateFilters]);
  return null;
};

const TITLE_PREAMBLE: Record<string, string> = {
  owned: 'Owned',
  starred: 'Starred',
};

const DatasetsTable = () => {
  const { filters, entities, loading } = useEntityList<DatasetEntityFilters>();
  const preamble = TITLE_PREAMBLE[filters.user?.value ?? ''] ?? 'All';
  return (
    <CatalogTable
      columns={columns}
      title={
        loading
          ? `${preamble} datasets`
          : `${preamble} datasets (${entities.length})`
      }
      emptyContent={
        <Typography variant="body2" style={{ padding: 16 }}>
          No datasets match these filters.
        </Typography>
      }
    />
  );
};

/**
 * Every dataset in the catalog, Resource and API kinds alike, with the
 * catalog's own owner, tag and personal (owned, starred) filters.
 */
export const DatasetsPage = () => {
  const orgName =
    useApi(configApiRef).getOptionalString('organization.name') ?? 'Backstage';
  return (
    <EntityListProvider<DatasetEntityFilters>>
      <DatasetsOnly />
      <Header
        title={`${orgName} datasets`}
        description="Resources and APIs of type dataset. Open one to see its consumers and to migrate it."
      />
      <Container>
        <CatalogFilterLayout>
          <CatalogFilterLayout.Filters>
            <UserListPicker initialFilter="all" />
            <EntityOwnerPicker />
            <EntityTagPicker />
          </CatalogFilterLayout.Filters>
          <CatalogFilterLayout.Content>
            <DatasetsTable />
          </CatalogFilterLayout.Content>
        </CatalogFilterLayout>
      </Container>
    </EntityListProvider>
  );
};

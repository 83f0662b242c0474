import { StructuredMetadataTable } from '@backstage/core-components';
import { EntityRefLink } from '@backstage/plugin-catalog-react';
import type { Migration } from '@internal/backstage-plugin-dataset-migration-common';
import { formatTimestamp } from '../../format';
import { ActorName } from '../ActorName';
import { MigrationStateChip } from '../MigrationStateChip';

const STRATEGIES: Record<Migration['strategy'], string> = {
  'bulk-copy': 'Bulk copy (objects as they are)',
  'schema-transform': 'Schema transform (records through a mapping)',
};

const Location = (props: { location: string; format?: string }) => (
  <>
    <code>{props.location}</code>
    {props.format && ` (${props.format})`}
  </>
);

/** The facts of a migration: what, from where to where, who, when. */
export const MigrationOverview = (props: { migration: Migration }) => {
  const { migration } = props;
  const metadata: Record<string, unknown> = {
    Dataset: <EntityRefLink entityRef={migration.dataset} />,
    State: (
      <>
        <MigrationStateChip state={migration.state} />
        {migration.step && ` ${migration.step}`}
      </>
    ),
    Strategy: STRATEGIES[migration.strategy] ?? migration.strategy,
    Source: (
      <Location
        location={migration.source.location}
        format={migration.source.format}
      />
    ),
    Target: (
      <Location
        location={migration.target.location}
        format={migration.target.format}
      />
    ),
    'Created by': <ActorName actor={migration.createdBy} />,
    'Created at': formatTimestamp(migration.createdAt),
    'Dataset owner': migration.datasetOwner ? (
      <EntityRefLink entityRef={migration.datasetOwner} defaultKind="group" />
    ) : (
      'unknown'
    ),
    ...(migration.cutoverAt && {
      'Cut over at': formatTimestamp(migration.cutoverAt),
    }),
    ...(migration.finishedAt && {
      'Finished at': formatTimestamp(migration.finishedAt),
    }),
    Id: <code>{migration.id}</code>,
  };
  return (
    <StructuredMetadataTable
      metadata={metadata}
      dense
      options={{ titleFormat: key => key }}
    />
  );
};

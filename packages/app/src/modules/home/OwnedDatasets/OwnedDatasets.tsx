import type { Entity } from '@backstage/catalog-model';
import { Link, Progress, WarningPanel } from '@backstage/core-components';
import {
  identityApiRef,
  useApi,
  useRouteRef,
} from '@backstage/frontend-plugin-api';
import { catalogApiRef, EntityRefLink } from '@backstage/plugin-catalog-react';
import { ANNOTATION_DATASET_LOCATION } from '@internal/backstage-plugin-dataset-migration-common';
import List from '@material-ui/core/List';
import ListItem from '@material-ui/core/ListItem';
import ListItemText from '@material-ui/core/ListItemText';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import { useCallback } from 'react';
import { datasetCatalogFilter, datasetsRouteRef } from '../../datasets';
import { usePolledValue } from '../usePolledValue';

// The theme keeps list item text on one line; descriptions and locations wrap.
const useStyles = makeStyles({
  text: { whiteSpace: 'normal', overflowWrap: 'anywhere' },
});

const FIELDS = [
  'kind',
  'metadata.namespace',
  'metadata.name',
  'metadata.title',
  'metadata.description',
  // Whole: the annotation's key has dots, which a field path cannot express.
  'metadata.annotations',
];

function displayName(entity: Entity): string {
  return entity.metadata.title ?? entity.metadata.name;
}

/**
 * The datasets owned by the signed-in user or one of their groups — the
 * catalog's "owned" filter (`relations.ownedBy` among the identity's
 * ownership refs), over Resource and API datasets.
 */
function useOwnedDatasets() {
  const catalogApi = useApi(catalogApiRef);
  const identityApi = useApi(identityApiRef);
  const load = useCallback(async () => {
    const { ownershipEntityRefs } = await identityApi.getBackstageIdentity();
    if (ownershipEntityRefs.length === 0) {
      return [];
    }
    const { items } = await catalogApi.getEntities({
      filter: {
        ...datasetCatalogFilter,
        'relations.ownedBy': ownershipEntityRefs,
      },
      fields: FIELDS,
    });
    return [...items].sort((a, b) =>
      displayName(a).localeCompare(displayName(b)),
    );
  }, [catalogApi, identityApi]);
  return usePolledValue(load);
}

/** Content of the "Your datasets" home page widget. */
export const OwnedDatasets = () => {
  const { value: datasets, error, loading } = useOwnedDatasets();
  const classes = useStyles();

  if (loading) {
    return <Progress />;
  }
  if (error) {
    return (
      <WarningPanel
        severity="error"
        title="Could not load your datasets"
        message={error.message}
      />
    );
  }
  if (!datasets?.length) {
    return (
      <Typography variant="body2" color="textSecondary">
        Neither you nor your groups own a dataset.
      </Typography>
    );
  }
  return (
    <List dense disablePadding aria-label="Your datasets">
      {datasets.map(entity => {
        const location =
          entity.metadata.annotations?.[ANNOTATION_DATASET_LOCATION];
        return (
          <ListItem
            key={`${entity.kind}:${entity.metadata.namespace}/${entity.metadata.name}`}
            disableGutters
            divider
          >
            <ListItemText
              className={classes.text}
              primary={
                <>
                  <EntityRefLink entityRef={entity} />
                  <Typography
                    component="span"
                    variant="caption"
                    color="textSecondary"
                  >
                    {' '}
                    · {entity.kind}
                  </Typography>
                </>
              }
              secondary={
                <>
                  {entity.metadata.description}
                  {location && (
                    <Typography
                      component="span"
                      variant="caption"
                      display="block"
                    >
                      <code>{location}</code>
                    </Typography>
                  )}
                </>
              }
            />
          </ListItem>
        );
      })}
    </List>
  );
};

/** The widget's footer: a link to every dataset, not only the user's. */
export const OwnedDatasetsActions = () => {
  const datasetsLink = useRouteRef(datasetsRouteRef);
  if (!datasetsLink) {
    return <></>;
  }
  return <Link to={datasetsLink()}>All datasets</Link>;
};

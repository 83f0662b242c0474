import { EntityRefLink } from '@backstage/plugin-catalog-react';
import { humanizeActor, isEntityActor } from './humanizeActor';

/**
 * Who did something: a link to the user (or group) in the catalog, shown by
 * name, or the humanised ref for actors that are not entities (the engine).
 */
export const ActorName = (props: { actor?: string }) => {
  const { actor } = props;
  if (!actor) {
    return <>—</>;
  }
  if (isEntityActor(actor)) {
    return <EntityRefLink entityRef={actor} defaultKind="user" hideIcon />;
  }
  return <>{humanizeActor(actor)}</>;
};

export { ActorName } from './ActorName';
export { humanizeActor, isEntityActor } from './humanizeActor';

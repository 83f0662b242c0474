import { parseEntityRef } from '@backstage/catalog-model';

/**
 * How an audit-log actor reads in text: `user:default/ana` → `ana`,
 * `user:finance/ana` → `finance/ana`, and the engine's own
 * `system:dataset-migration-engine` → `dataset-migration-engine (automatic)`.
 */
export function humanizeActor(actor: string): string {
  let ref;
  try {
    ref = parseEntityRef(actor, { defaultKind: 'user' });
  } catch {
    return actor;
  }
  const name =
    ref.namespace === 'default' ? ref.name : `${ref.namespace}/${ref.name}`;
  if (ref.kind.toLocaleLowerCase('en-US') === 'system') {
    return `${name} (automatic)`;
  }
  return name;
}

/** Whether the actor is a catalog entity (a user or group) worth linking. */
export function isEntityActor(actor: string): boolean {
  return /^(user|group):/i.test(actor);
}

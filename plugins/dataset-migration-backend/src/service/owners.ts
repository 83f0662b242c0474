import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';

/**
 * An owner as Backstage writes it in `spec.owner` (`data-platform`,
 * `group:data-platform`, `user:default/ana`) in one canonical, lower-case
 * form: the kind defaults to group and the namespace to `default`.
 */
export function normalizeOwnerRef(owner: string): string {
  try {
    return stringifyEntityRef(
      parseEntityRef(owner, {
        defaultKind: 'group',
        defaultNamespace: 'default',
      }),
    ).toLocaleLowerCase('en-US');
  } catch (e) {
    throw new InputError(`'${owner}' is not a valid owner: ${e}`);
  }
}

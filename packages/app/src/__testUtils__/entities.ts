import type { Entity } from '@backstage/catalog-model';

function dataset(
  kind: 'Resource' | 'API',
  name: string,
  owner: string,
  extra: { title?: string; type?: string } = {},
): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind,
    metadata: {
      name,
      namespace: 'default',
      title: extra.title,
      description: `The ${name} data.`,
      annotations: {
        'dataset-migration.io/location': `file://examples/${name}`,
      },
    },
    spec: { type: extra.type ?? 'dataset', owner, lifecycle: 'production' },
    // The in-memory catalog filters on relations; the real one derives them.
    relations: [{ type: 'ownedBy', targetRef: `group:default/${owner}` }],
  };
}

/** The guest is a member of data-platform, as in examples/org.yaml. */
export const guestOwnership = [
  'user:default/guest',
  'group:default/data-platform',
];

export const playsDaily = dataset('Resource', 'plays-daily', 'data-platform', {
  title: 'Plays (daily partitions)',
});
export const podcastEpisodes = dataset(
  'API',
  'podcast-episodes',
  'data-platform',
  { title: 'Podcast episodes' },
);
export const userSessions = dataset(
  'Resource',
  'user-sessions',
  'growth-analytics',
  { title: 'User sessions' },
);
/** Owned by the guest's team, but a database, not a dataset. */
export const playsDatabase = dataset('Resource', 'plays-db', 'data-platform', {
  title: 'Plays database',
  type: 'database',
});

export const catalogEntities = [
  playsDaily,
  podcastEpisodes,
  userSessions,
  playsDatabase,
];

/* eslint-disable no-console */
// One replica of the fleet: a Backstage backend with the dataset-migration
// plugin on a shared PostgreSQL database, in a process of its own so tests
// can SIGKILL it mid-migration.
// Run with: node --require @backstage/cli/config/nodeTransform.cjs <this> <json>
// where json = { connection, config }; prints REPLICA_READY <port>.
import { AddressInfo } from 'node:net';
import knexFactory from 'knex';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { datasetMigrationPlugin } from '../../plugin';

async function main() {
  const { connection, config } = JSON.parse(process.argv[2]);
  const knex = knexFactory({
    client: 'pg',
    connection,
    pool: { min: 0, max: 10 },
  });
  const backend = await startTestBackend({
    features: [
      datasetMigrationPlugin,
      mockServices.database.factory({ knex }),
      mockServices.rootConfig.factory({ data: config }),
      catalogServiceMock.factory({ entities: [] }),
    ],
  });
  const { port } = backend.server.address() as AddressInfo;
  console.log(`REPLICA_READY ${port} ${process.pid}`);
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
// The parent holds our stdin open; when it dies, stdin ends and so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

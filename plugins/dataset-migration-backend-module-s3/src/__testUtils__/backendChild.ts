/* eslint-disable no-console */
// A Backstage backend with the dataset-migration plugin and the S3 and GCS
// modules in a process of its own, so tests can SIGKILL it mid-migration.
// Run with: node --require @backstage/cli/config/nodeTransform.cjs <this> <json>
// where json = { sqliteFile, config, entities }; prints BACKEND_READY <port>.
import { AddressInfo } from 'node:net';
import knexFactory from 'knex';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import datasetMigrationPlugin from '@internal/backstage-plugin-dataset-migration-backend';
import datasetMigrationModuleGcs from '@internal/backstage-plugin-dataset-migration-backend-module-gcs';
import { datasetMigrationModuleS3 } from '../module';

async function main() {
  const { sqliteFile, config, entities } = JSON.parse(process.argv[2]);
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: sqliteFile },
    useNullAsDefault: true,
  });
  const backend = await startTestBackend({
    features: [
      datasetMigrationPlugin,
      datasetMigrationModuleS3,
      datasetMigrationModuleGcs,
      mockServices.database.factory({ knex }),
      mockServices.rootConfig.factory({ data: config }),
      catalogServiceMock.factory({ entities }),
    ],
  });
  const { port } = backend.server.address() as AddressInfo;
  console.log(`BACKEND_READY ${port}`);
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
// The parent holds our stdin open; when it dies, stdin ends and so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

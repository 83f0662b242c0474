// Runs the GCS JSON-API test server in its own process for the benchmark,
// so its CPU and memory are not counted against the copier being measured.
import { GcsTestServer } from '../plugins/dataset-migration-backend-module-gcs/src/testing/GcsTestServer';

GcsTestServer.start({ buckets: (process.argv[2] ?? '').split(',') }).then(
  server => {
    process.stdout.write(`GCS_READY ${server.port}\n`);
    process.on('SIGTERM', () => server.stop().finally(() => process.exit(0)));
    // The benchmark holds our stdin open; when it dies, so do we.
    process.stdin.on('end', () => process.exit(0));
    process.stdin.resume();
  },
  error => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  },
);

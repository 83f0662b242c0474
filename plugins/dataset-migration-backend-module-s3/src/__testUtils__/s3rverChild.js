/* eslint-disable */
// Runs s3rver in its own process: its ListObjectsV2 continuation tokens use
// DES, which OpenSSL 3 only offers with --openssl-legacy-provider, a flag
// that must be given when Node starts (the parent sets NODE_OPTIONS).
const S3rver = require('s3rver');

const [directory, bucketsJson] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: JSON.parse(bucketsJson || '[]').map(name => ({ name })),
});
server.run().then(
  address => process.stdout.write(`S3RVER_READY ${address.port}\n`),
  error => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  },
);
process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));
// The parent holds our stdin open; when it dies, stdin ends and so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

/* eslint-disable */
// Runs s3rver in its own process: its ListObjectsV2 continuation tokens use
// DES, which OpenSSL 3 only offers with --openssl-legacy-provider, a flag
// that must be given when Node starts (the parent sets NODE_OPTIONS).
// s3rver 3.7.1 decodes x-amz-copy-source with decodeURI, which leaves the
// reserved characters percent-encoded (%23 #, %2B +, %3D =, %26 &, %3F ?…),
// so a correctly encoded copy of `year=2026/…` answers NoSuchKey. Real S3
// percent-decodes the whole header. Re-encode the header so decodeURI
// yields what real S3 would, inside the controller (after the SigV4 check,
// which signs the header as the client sent it). The client stays correct.
const objectController = require('s3rver/lib/controllers/object');
const putObjectCopy = objectController.putObjectCopy;
objectController.putObjectCopy = function putObjectCopyLikeS3(ctx) {
  const header = ctx.headers['x-amz-copy-source'];
  if (typeof header === 'string') {
    // A literal '?' in a key arrives as %3F; a raw one starts ?versionId=.
    const [path] = header.split('?');
    ctx.headers['x-amz-copy-source'] = encodeURI(decodeURIComponent(path));
  }
  return putObjectCopy.call(this, ctx);
};
// More places where s3rver 3.7.1 differs from S3: see s3rverLikeS3.js.
require('./s3rverLikeS3');
const S3rver = require('s3rver');

const [directory, bucketsJson, tlsJson] = process.argv.slice(2);
// Over HTTPS when given `{ key, cert }` (PEM file paths).
const tls = tlsJson ? JSON.parse(tlsJson) : undefined;
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: JSON.parse(bucketsJson || '[]').map(name => ({ name })),
  ...(tls && {
    key: require('fs').readFileSync(tls.key),
    cert: require('fs').readFileSync(tls.cert),
  }),
});
server.run().then(
  address => process.stdout.write(`S3RVER_READY ${address.port}\n`),
  error => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  },
);
// A real S3 endpoint survives a client that aborts an upload midway;
// s3rver 3.7.1 can throw from the aborted request's stream (an error on a
// socket or temp file nobody listens to), which would end this process and
// fail every later test with "connection refused". Log it and serve on.
process.on('uncaughtException', error => {
  process.stderr.write(`s3rver: uncaught ${error && error.stack}\n`);
});
process.on('unhandledRejection', error => {
  process.stderr.write(`s3rver: unhandled ${error && error.stack}\n`);
});
process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));
// The parent holds our stdin open; when it dies, stdin ends and so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

/* eslint-disable */
// SigV4 verification for s3rver 3.7.1, which checks only that a V4 request's
// access key exists ("Signature version 4 calculation is unimplemented"):
// a request signed wrong would pass. Written here from the AWS SigV4
// specification, independently of the SDK's signer, so that what the
// clients sign (the SDK's commands and the plugin's fast GETs) is checked as
// S3 checks it: the canonical URI is the path decoded and encoded again
// segment by segment (S3 does not encode twice), the query is sorted and
// encoded, signed headers are trimmed, and the payload hash is the
// x-amz-content-sha256 header as sent. Presigned (query) V4 requests are
// left to s3rver. Installed by s3rverLikeS3.js around s3rver's own check.
const { createHash, createHmac } = require('crypto');
const AWSAccount = require('s3rver/lib/models/account');
const S3Error = require('s3rver/lib/models/error');
const router = require('s3rver/lib/routes');

const encode = s =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
const sha256 = data => createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => createHmac('sha256', key).update(data).digest();

function canonicalUri(rawPath) {
  return rawPath
    .split('/')
    .map(segment => encode(decodeURIComponent(segment)))
    .join('/');
}

function canonicalQuery(rawQuery) {
  if (!rawQuery) return '';
  return rawQuery
    .split('&')
    .filter(Boolean)
    .map(pair => {
      const at = pair.indexOf('=');
      const name = at < 0 ? pair : pair.slice(0, at);
      const value = at < 0 ? '' : pair.slice(at + 1);
      return [
        encode(decodeURIComponent(name)),
        encode(decodeURIComponent(value)),
      ];
    })
    .sort(([a, x], [b, y]) =>
      a !== b ? (a < b ? -1 : 1) : x === y ? 0 : x < y ? -1 : 1,
    )
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

const mismatch = () =>
  new S3Error(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  );

function verify(ctx) {
  const authorization = ctx.headers.authorization;
  if (!authorization || !authorization.startsWith('AWS4-HMAC-SHA256 ')) {
    return;
  }
  const fields = {};
  for (const part of authorization.slice(17).split(',')) {
    const at = part.indexOf('=');
    fields[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  const [accessKeyId, date, region, service, terminal] = (
    fields.Credential || ''
  ).split('/');
  const account = AWSAccount.registry.get(accessKeyId);
  const secret = account && account.accessKeys.get(accessKeyId);
  const amzDate = ctx.headers['x-amz-date'];
  const payloadHash = ctx.headers['x-amz-content-sha256'];
  if (!secret || terminal !== 'aws4_request' || !amzDate || !payloadHash) {
    throw mismatch();
  }
  const signedHeaders = (fields.SignedHeaders || '').split(';');
  const url = ctx.req.url;
  const at = url.indexOf('?');
  let request;
  try {
    const headerLines = signedHeaders
      .map(
        name =>
          `${name}:${String(ctx.headers[name] ?? '')
            .trim()
            .replace(/\s+/g, ' ')}\n`,
      )
      .join('');
    request = [
      ctx.method,
      canonicalUri(at < 0 ? url : url.slice(0, at)),
      canonicalQuery(at < 0 ? '' : url.slice(at + 1)),
      headerLines,
      signedHeaders.join(';'),
      payloadHash,
    ].join('\n');
  } catch {
    throw mismatch();
  }
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(request)}`;
  let key = hmac(`AWS4${secret}`, date);
  for (const part of [region, service, 'aws4_request']) {
    key = hmac(key, part);
  }
  const expected = createHmac('sha256', key).update(toSign).digest('hex');
  if (expected !== fields.Signature) {
    throw mismatch();
  }
}

function patchSigV4() {
  for (const layer of router.stack) {
    const i = layer.stack.findIndex(fn => fn.name === 'authentication');
    if (i >= 0) {
      const original = layer.stack[i];
      layer.stack[i] = async function authentication(ctx, next) {
        return original(ctx, async () => {
          verify(ctx);
          return next();
        });
      };
      return;
    }
  }
  throw new Error('s3rver authentication middleware not found');
}

module.exports = { patchSigV4 };

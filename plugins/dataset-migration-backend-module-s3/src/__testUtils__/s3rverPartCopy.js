/* eslint-disable */
// UploadPartCopy for s3rver 3.7.1, whose PUT route answers a part request
// with x-amz-copy-source (PUT ?partNumber=N&uploadId=X) NotImplemented.
// Installed by s3rverLikeS3.js. Like its other patches it sits inside the
// route handler, after s3rver's routing and SigV4 check.
//
// As S3 does: the part is the source object's bytes, or those of
// x-amz-copy-source-range (bytes=first-last, inclusive), stored where
// s3rver keeps an uploaded part (uploads/<id>/<N>, with its .md5), so that
// CompleteMultipartUpload assembles it like any other part. The answer is
//   <CopyPartResult><ETag>"md5"</ETag><LastModified>…</LastModified>
//     [<ChecksumCRC32C>…</ChecksumCRC32C>]</CopyPartResult>
// with the part's checksum of the upload's algorithm (s3rverChecksums.js
// computes it and keeps a CRC32C as it keeps an uploaded part's).
// Errors as S3 answers them: an unknown upload 404 NoSuchUpload, a missing
// source 404 NoSuchBucket / NoSuchKey, a malformed range or one beyond the
// source 400 InvalidArgument, a part number out of 1..10000 400
// InvalidArgument. Not emulated: versionId in the source (NotImplemented),
// the x-amz-copy-source-if-* conditions (ignored), S3's 5 GiB part limit.
const fsp = require('fs/promises');
const { Readable } = require('stream');
const objectController = require('s3rver/lib/controllers/object');
const S3Error = require('s3rver/lib/models/error');
const router = require('s3rver/lib/routes');

const invalidArgument = (message, name, value) =>
  new S3Error('InvalidArgument', message, {
    ArgumentName: name,
    ArgumentValue: value,
  });

/**
 * The source bucket and key of x-amz-copy-source (`bucket/key`, a leading
 * `/` allowed): S3 percent-decodes the whole header (s3rver's own CopyObject
 * uses decodeURI, see s3rverChild.js).
 */
function copySource(header) {
  const [path, query = ''] = String(header).split('?');
  if (/(^|&)versionId=/.test(query)) {
    throw new S3Error(
      'NotImplemented',
      'Copying a version of an object is not emulated',
    );
  }
  let decoded;
  try {
    decoded = decodeURIComponent(path).replace(/^\//, '');
  } catch {
    decoded = '';
  }
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw invalidArgument(
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      'x-amz-copy-source',
      header,
    );
  }
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

/**
 * The inclusive byte range to copy out of `size` bytes: the whole object
 * without x-amz-copy-source-range (undefined for an empty one).
 */
function copyRange(header, size) {
  if (header === undefined) {
    return size > 0 ? { start: 0, end: size - 1 } : undefined;
  }
  const match = /^bytes=(\d+)-(\d+)$/.exec(header);
  if (!match) {
    throw invalidArgument(
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      'x-amz-copy-source-range',
      header,
    );
  }
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (start > end || end >= size) {
    throw invalidArgument(
      `Range specified is not valid for source object of size: ${size}`,
      'x-amz-copy-source-range',
      header,
    );
  }
  return { start, end };
}

/**
 * The bytes of the object file `path` that x-amz-copy-source-range names
 * (all of them without one); ENOENT when there is no such object.
 */
async function readRange(path, rangeHeader) {
  const file = await fsp.open(path);
  try {
    // The range is checked against the size of the file being read.
    const { size } = await file.stat();
    const range = copyRange(rangeHeader, size);
    if (!range) return Buffer.alloc(0);
    const data = Buffer.alloc(range.end - range.start + 1);
    let filled = 0;
    while (filled < data.length) {
      const { bytesRead } = await file.read(
        data,
        filled,
        data.length - filled,
        range.start + filled,
      );
      if (bytesRead === 0) throw new Error(`${path} shrank while copied`);
      filled += bytesRead;
    }
    return data;
  } finally {
    await file.close();
  }
}

exports.patchPartCopy = function patchPartCopy({ expectUpload, partCopied }) {
  // Route part requests with a copy source here; the rest as before.
  const putLayer = router.stack.find(
    layer =>
      layer.path === '/:bucket/:key+' &&
      layer.methods.length === 1 &&
      layer.methods[0] === 'PUT',
  );
  const putHandler = putLayer.stack[putLayer.stack.length - 1];
  putLayer.stack[putLayer.stack.length - 1] = function putLikeS3(ctx, next) {
    if (
      ctx.params.queryMethod === 'uploadId' &&
      'x-amz-copy-source' in ctx.headers
    ) {
      return objectController.uploadPartCopy(ctx);
    }
    return putHandler.call(this, ctx, next);
  };

  objectController.uploadPartCopy = async function uploadPartCopy(ctx) {
    const given = ctx.query.partNumber;
    const number = Number(given);
    if (!/^\d+$/.test(String(given)) || number < 1 || number > 10000) {
      throw invalidArgument(
        'Part number must be an integer between 1 and 10000, inclusive',
        'partNumber',
        given,
      );
    }
    await expectUpload(ctx);
    const source = copySource(ctx.headers['x-amz-copy-source']);
    if (!(await ctx.store.getBucket(source.bucket))) {
      throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', {
        BucketName: source.bucket,
      });
    }
    // Read whole (a test's parts are small), as the UploadPart patch reads
    // a body: the part's checksum is computed from these bytes.
    let data;
    try {
      data = await readRange(
        ctx.store.getResourcePath(source.bucket, source.key, 'object'),
        ctx.headers['x-amz-copy-source-range'],
      );
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
      throw new S3Error('NoSuchKey', 'The specified key does not exist.', {
        Key: source.key,
      });
    }
    // Stored by s3rver's own putPart, as UploadPart stores a body.
    const { md5 } = await ctx.store.putPart(
      ctx.params.bucket,
      ctx.query.uploadId,
      number,
      Readable.from(data.length ? [data] : []),
    );
    const checksum = await partCopied(ctx, number, data);
    ctx.logger.info(
      'Copied "%s" in bucket "%s" into part %s of %s in bucket "%s"',
      source.key,
      source.bucket,
      number,
      ctx.query.uploadId,
      ctx.params.bucket,
    );
    ctx.body = {
      CopyPartResult: {
        ETag: JSON.stringify(md5),
        LastModified: new Date().toISOString(),
        ...checksum,
      },
    };
  };
};

/* eslint-disable */
// Patches s3rver 3.7.1 (loaded into its child process by s3rverChild.js) so
// it answers like S3 where our tests depend on it. Each patch sits behind
// s3rver's routing and SigV4 check, so requests are verified as sent.
const crypto = require('crypto');
const fs = require('fs');
const fsp = require('fs/promises');
const nodePath = require('path');
const { Readable, Transform } = require('stream');
const { pipeline } = require('stream/promises');
const objectController = require('s3rver/lib/controllers/object');
const S3Error = require('s3rver/lib/models/error');
const S3Object = require('s3rver/lib/models/object');
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const router = require('s3rver/lib/routes');
const { walk } = require('s3rver/lib/utils');
const { patchChecksums } = require('./s3rverChecksums');
const { patchPartCopy } = require('./s3rverPartCopy');
const { patchSigV4 } = require('./s3rverSigV4');

// s3rver 3.7.1 has no AbortMultipartUpload (DELETE ?uploadId answers
// MethodNotAllowed) and takes parts for uploads that do not exist: an
// aborted upload would stay behind, or come back with a late part. Do what
// S3 does: DELETE ?uploadId removes the upload (204, or 404 NoSuchUpload),
// and a part for an unknown upload answers NoSuchUpload. Wrapped inside the
// route handlers, after the signature check.
const uploadDir = (ctx, id = ctx.query.uploadId) =>
  nodePath.join(
    ctx.store.getResourcePath(ctx.params.bucket, undefined, 'uploads'),
    nodePath.basename(String(id)),
  );
async function expectUpload(ctx) {
  try {
    await fsp.access(nodePath.join(uploadDir(ctx), 'key'));
  } catch {
    throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', {
      UploadId: ctx.query.uploadId,
    });
  }
}
const deleteLayer = router.stack.find(
  layer =>
    layer.path === '/:bucket/:key+' &&
    layer.methods.length === 1 &&
    layer.methods[0] === 'DELETE',
);
const deleteHandler = deleteLayer.stack[deleteLayer.stack.length - 1];
deleteLayer.stack[deleteLayer.stack.length - 1] = async function deleteLikeS3(
  ctx,
  next,
) {
  if (ctx.params.queryMethod !== 'uploadId') {
    return deleteHandler.call(this, ctx, next);
  }
  await expectUpload(ctx);
  await fsp.rm(uploadDir(ctx), {
    recursive: true,
    force: true,
  });
  ctx.status = 204;
  return undefined;
};
const uploadPart = objectController.uploadPart;
objectController.uploadPart = async function uploadPartLikeS3(ctx) {
  await expectUpload(ctx);
  return uploadPart.call(this, ctx);
};

// s3rver 3.7.1 answers CompleteMultipartUpload of an unknown (aborted,
// already completed) upload with a 500 InternalError (ENOENT reading the
// upload's key); S3 answers 404 NoSuchUpload.
const completeMultipartUpload = objectController.completeMultipartUpload;
objectController.completeMultipartUpload =
  async function completeMultipartUploadLikeS3(ctx) {
    await expectUpload(ctx);
    return completeMultipartUpload.call(this, ctx);
  };

// CRC32C checksums as S3 keeps and answers them: see s3rverChecksums.js
// (its part and complete patches check for NoSuchUpload first, too).
const { partCopied } = patchChecksums({ uploadDir, expectUpload });

// UploadPartCopy, which s3rver answers NotImplemented: see
// s3rverPartCopy.js. A copied part gets its checksum as an uploaded one.
patchPartCopy({ expectUpload, partCopied });
// s3rver does not check SigV4 signatures; S3 does (see s3rverSigV4.js).
patchSigV4();

// Paged flat listings: s3rver walks its directory in on-disk name order
// (`a#b._S3rver_object` < `a._S3rver_object`, folder `a/` before both) and
// drops every key at or below the page's start-after key, so the next page
// loses keys (`a`, `a#b`, `a.b` after a page ending at `a/b`). S3 lists in
// UTF-8 byte order. Delimiter listings keep s3rver's own code (see
// ENVIRONMENT.md: list flat).
const OBJECT_SUFFIX = '._S3rver_object';
const byUtf8 = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Writes `content` (a stream or a Buffer) to `file` and resolves once the
 * file is written and closed, with its size and md5 (hex).
 */
async function writeStoredFile(file, content) {
  await fsp.mkdir(nodePath.dirname(file), { recursive: true });
  const md5 = crypto.createHash('md5');
  let size = 0;
  await pipeline(
    Buffer.isBuffer(content) ? Readable.from([content]) : content,
    new Transform({
      transform(chunk, encoding, callback) {
        md5.update(chunk, encoding);
        size += chunk.length;
        callback(null, chunk);
      },
    }),
    fs.createWriteStream(file),
  );
  return { size, md5: md5.digest('hex') };
}

// s3rver 3.7.1 answers a PutObject (and a CompleteMultipartUpload, which
// ends in putObject) once its MD5 transform has seen the last byte, before
// the object's file is written: its promise resolves on the transform's
// 'finish' (at once for a Buffer). A HEAD or GET right after the answer can
// then see part of the file (a CI run stat'ed an 8 MiB object at 6 MiB). S3
// answers once the object is stored: this putObject resolves when the file
// is written and closed.
FilesystemStore.prototype.putObject = async function putObjectStored(object) {
  const stored = await writeStoredFile(
    this.getResourcePath(object.bucket, object.key, 'object'),
    object.content,
  );
  await this.putMetadata(
    object.bucket,
    object.key,
    object.metadata,
    stored.md5,
  );
  return stored;
};

// UploadPart has the same early answer (putPart resolves on its MD5
// transform's 'finish'): a CompleteMultipartUpload right after it read a
// part file still being written (CI: a CRC32C of the parts that was not the
// object's). This putPart resolves when the part's file is written too.
FilesystemStore.prototype.putPart = async function putPartStored(
  bucket,
  uploadId,
  partNumber,
  content,
) {
  const partPath = nodePath.join(
    this.getResourcePath(bucket, undefined, 'uploads'),
    uploadId,
    partNumber.toString(),
  );
  const stored = await writeStoredFile(partPath, content);
  await fsp.writeFile(`${partPath}.md5`, stored.md5);
  return stored;
};

// s3rver 3.7.1's deleteObject reads its key's whole folder (readdirSync)
// after each delete to tell whether the folder is now empty: deleting a
// folder of N objects read N folders of up to 3N files (10,000 objects:
// ~10 s of the server's one thread). rmdir does the same check, atomically
// (it refuses a folder that is not empty).
FilesystemStore.prototype.deleteObject = async function deleteObjectLikeS3(
  bucket,
  key,
) {
  await Promise.all(
    ['object', 'object.md5', 'metadata.json'].map(type =>
      fsp.unlink(this.getResourcePath(bucket, key, type)).catch(err => {
        if (err.code !== 'ENOENT') throw err;
      }),
    ),
  );
  const parts = key.split('/');
  parts.pop(); // the last part is in the file name
  for (; parts.length; parts.pop()) {
    try {
      await fsp.rmdir(nodePath.join(this.getBucketPath(bucket), ...parts));
    } catch (err) {
      if (['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(err.code)) break;
      throw err;
    }
  }
};

// The bucket's keys, sorted, kept between listings and kept up to date by
// writes and deletes: s3rver walked every file of the bucket for every page,
// so N listings cost N full walks (S3 answers from an index), and a listing
// between writes (the engine lists a batch's target keys while copying)
// walked the bucket again. A failed write drops the bucket's index (the
// next listing walks). Files changed behind s3rver's back (tests overwrite
// existing objects only) keep the key set as it was.
const sortedKeys = new Map();
/** Where `key` is, or would be inserted, in the sorted `keys`. */
function position(keys, key) {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (byUtf8(keys[mid], key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
function indexed(bucket, key, present) {
  const keys = sortedKeys.get(bucket);
  if (!keys || key === undefined) {
    sortedKeys.delete(bucket);
    return;
  }
  const at = position(keys, key);
  const found = keys[at] === key;
  if (present && !found) keys.splice(at, 0, key);
  if (!present && found) keys.splice(at, 1);
}
for (const method of ['putObject', 'copyObject', 'deleteObject']) {
  const original = FilesystemStore.prototype[method];
  FilesystemStore.prototype[method] = async function indexKeys(...args) {
    // putObject(object), copyObject(srcBucket, srcKey, bucket, key, …),
    // deleteObject(bucket, key); putObjectMultipart ends in putObject.
    const [bucket, key] =
      method === 'putObject'
        ? [args[0]?.bucket, args[0]?.key]
        : method === 'copyObject'
        ? [args[2], args[3]]
        : [args[0], args[1]];
    let result;
    try {
      result = await original.apply(this, args);
    } catch (e) {
      sortedKeys.delete(bucket);
      throw e;
    }
    indexed(bucket, key, method !== 'deleteObject');
    return result;
  };
}
function bucketKeys(store, bucket) {
  let keys = sortedKeys.get(bucket);
  if (!keys) {
    const bucketPath = store.getBucketPath(bucket);
    keys = [];
    for (const file of walk(bucketPath, () => true)) {
      if (!file.endsWith(OBJECT_SUFFIX)) continue;
      keys.push(
        FilesystemStore.decodeKeyPath(
          file.slice(bucketPath.length + 1, -OBJECT_SUFFIX.length),
        ),
      );
    }
    keys.sort(byUtf8);
    sortedKeys.set(bucket, keys);
  }
  return keys;
}

const listObjects = FilesystemStore.prototype.listObjects;
FilesystemStore.prototype.listObjects = async function listObjectsLikeS3(
  bucket,
  options,
) {
  if (options.delimiter) {
    return listObjects.call(this, bucket, options);
  }
  const { startAfter = '', prefix = '', maxKeys = Infinity } = options;
  const all = bucketKeys(this, bucket);
  // The first key after startAfter and at or after the prefix.
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (byUtf8(all[mid], startAfter) <= 0 || byUtf8(all[mid], prefix) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  const keys = [];
  let i = lo;
  for (; i < all.length && keys.length <= maxKeys; i++) {
    if (!all[i].startsWith(prefix)) break;
    keys.push(all[i]);
  }
  const page = keys.slice(0, maxKeys);
  const metadata = await Promise.all(
    page.map(key =>
      this.getMetadata(bucket, key).catch(err =>
        err.code === 'ENOENT' ? undefined : Promise.reject(err),
      ),
    ),
  );
  return {
    objects: page
      .map(
        (key, i) => metadata[i] && new S3Object(bucket, key, null, metadata[i]),
      )
      .filter(Boolean),
    commonPrefixes: [],
    isTruncated: keys.length > page.length,
  };
};

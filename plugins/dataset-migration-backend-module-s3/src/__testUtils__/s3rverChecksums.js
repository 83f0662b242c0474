/* eslint-disable */
// CRC32C additional checksums for s3rver 3.7.1, which ignores every
// x-amz-checksum-* header. Installed by s3rverLikeS3.js; like its other
// patches, each one wraps a controller, so it runs after s3rver's routing and
// SigV4 check. Only CRC32C values are verified and kept; other algorithms are
// only held to the upload's declared one (S3 would keep those too).
const crypto = require('crypto');
const fsp = require('fs/promises');
const nodePath = require('path');
const { Readable } = require('stream');
const zlib = require('zlib');
const bucketController = require('s3rver/lib/controllers/bucket');
const objectController = require('s3rver/lib/controllers/object');
const S3Error = require('s3rver/lib/models/error');
const S3Object = require('s3rver/lib/models/object');
// s3rver's own XML parser (fast-xml-parser 3), not the newer one hoisted.
const xmlParser = require(require.resolve('fast-xml-parser', {
  paths: [nodePath.dirname(require.resolve('s3rver/package.json'))],
}));

const CRC = 'x-amz-checksum-crc32c';
const TYPE = 'x-amz-checksum-type';
const ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'];

// CRC32C (Castagnoli) in native code, as S3 computes it on its side: the
// JS one this server had (a byte at a time, ~0.3 GB/s) made it, on the
// cores it shares with the client in the bench, charge the client for
// every checksum asked of it (8 × 256 MiB copied S3 → S3: 13 s against
// 2.4 s without one). The client's own CRC32C code is checked against an
// independent one elsewhere: S3ObjectStore.test.ts checks the headers the
// client sends against the portable implementation (and the node package's
// checksums.test.ts the native one against it).
const { crc32c: nativeCrc32c } = require('@node-rs/crc32');

function crc32c(data, crc = 0) {
  return nativeCrc32c(data, crc) >>> 0;
}
/** Base64 of the 4 big-endian bytes, as S3 writes a CRC32C. */
function toBase64(crc) {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc >>> 0);
  return bytes.toString('base64');
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}
/** Runs a controller on a body already read (ctx.req is only read once). */
async function withBody(ctx, body, run) {
  const req = ctx.req;
  ctx.req = Readable.from(body.length ? [body] : [], { objectMode: false });
  try {
    return await run();
  } finally {
    ctx.req = req;
  }
}

const badDigest = () =>
  new S3Error(
    'BadDigest',
    'The CRC32C you specified did not match the calculated checksum.',
  );
const invalidRequest = message => new S3Error('InvalidRequest', message);

/**
 * The algorithm a request body's checksum uses (lowercase), or null: a
 * x-amz-checksum-<algorithm> value, else the SDK's announced algorithm.
 */
function bodyAlgorithm(headers) {
  const sent = ALGORITHMS.find(a => headers[`x-amz-checksum-${a}`]);
  if (sent) return sent;
  const announced = headers['x-amz-sdk-checksum-algorithm'];
  return announced ? announced.toLowerCase() : null;
}
/**
 * A checksum sent as an aws-chunked trailer: s3rver stores such a body with
 * its chunk framing, so refuse it rather than keep a wrong checksum.
 */
function refuseTrailer(ctx) {
  if (/x-amz-checksum-/i.test(ctx.headers['x-amz-trailer'] || '')) {
    throw new S3Error(
      'NotImplemented',
      'Trailing checksums (aws-chunked bodies) are not emulated',
    );
  }
}

/** Sets (or, given none, removes) the CRC32C kept in an object's metadata. */
async function storeChecksum(store, bucket, key, checksum) {
  const file = store.getResourcePath(bucket, key, 'metadata.json');
  const metadata = JSON.parse(await fsp.readFile(file, 'utf8'));
  delete metadata[CRC];
  delete metadata[TYPE];
  if (checksum) Object.assign(metadata, checksum);
  await fsp.writeFile(file, JSON.stringify(metadata, null, 2));
}

/** One file's CRC32C: small files in one read, others streamed. */
async function crc32cOfFile(file) {
  const { size } = await fsp.stat(file);
  if (size > 1024 * 1024) return crc32cOfFiles([file]);
  return crc32c(await fsp.readFile(file));
}

async function crc32cOfFiles(files) {
  let crc = 0;
  for (const file of files) {
    for await (const chunk of (await fsp.open(file)).createReadStream()) {
      crc = crc32c(chunk, crc);
    }
  }
  return crc;
}

/**
 * The checksum of another algorithm S3 answers for `data` (base64), or
 * undefined for one not emulated (CRC64NVME).
 */
function otherChecksum(algorithm, data) {
  if (algorithm === 'sha1' || algorithm === 'sha256') {
    return crypto.createHash(algorithm).update(data).digest('base64');
  }
  if (algorithm === 'crc32') return toBase64(zlib.crc32(data));
  return undefined;
}

exports.patchChecksums = function patchChecksums({ uploadDir, expectUpload }) {
  // The object's CRC32C and its type live in its metadata.json, so that
  // s3rver's store keeps them with the object, copies them with it and
  // hands them to GET/HEAD (as headers) and to listings.
  S3Object.ALLOWED_METADATA.push(CRC, TYPE);

  /** What CreateMultipartUpload declared: { algorithm, type } or {}. */
  async function uploadChecksum(ctx) {
    const file = nodePath.join(uploadDir(ctx), 'metadata');
    const created = JSON.parse(await fsp.readFile(file, 'utf8'));
    const algorithm = created['x-amz-checksum-algorithm'];
    return algorithm ? { algorithm, type: created[TYPE] } : {};
  }
  const partCrcFile = (ctx, number) =>
    nodePath.join(uploadDir(ctx), `${Number(number)}.crc32c`);

  // PutObject: S3 verifies x-amz-checksum-crc32c against the body (400
  // BadDigest, nothing stored) and keeps it as the object's FULL_OBJECT
  // checksum; it computes one when only the algorithm is named. An object
  // put without a CRC32C has none (and loses the one it had).
  const putObject = objectController.putObject;
  objectController.putObject = async function putObjectLikeS3(ctx) {
    refuseTrailer(ctx);
    const algorithm = bodyAlgorithm(ctx.headers);
    const sent = ctx.headers[CRC];
    delete ctx.headers[CRC];
    delete ctx.headers[TYPE];
    if (algorithm !== 'crc32c') return putObject.call(this, ctx);
    const body = await readBody(ctx.req);
    const crc = toBase64(crc32c(body));
    if (sent !== undefined && sent !== crc) throw badDigest();
    Object.assign(ctx.headers, { [CRC]: crc, [TYPE]: 'FULL_OBJECT' });
    await withBody(ctx, body, () => putObject.call(this, ctx));
    ctx.set(CRC, crc);
    ctx.set(TYPE, 'FULL_OBJECT');
    return undefined;
  };

  // CreateMultipartUpload names the algorithm (x-amz-checksum-algorithm)
  // and how part checksums make the object's (x-amz-checksum-type:
  // COMPOSITE, the default but for CRC64NVME, or FULL_OBJECT, CRCs only);
  // S3 answers both back.
  const initiate = objectController.initiateMultipartUpload;
  objectController.initiateMultipartUpload =
    async function initiateMultipartUploadLikeS3(ctx) {
      const algorithm = ctx.headers['x-amz-checksum-algorithm'];
      const type = ctx.headers[TYPE];
      delete ctx.headers[CRC];
      if (!algorithm) {
        if (type) {
          throw invalidRequest(
            'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.',
          );
        }
        return initiate.call(this, ctx);
      }
      const a = algorithm.toLowerCase();
      const t = (
        type || (a === 'crc64nvme' ? 'FULL_OBJECT' : 'COMPOSITE')
      ).toUpperCase();
      if (
        !ALGORITHMS.includes(a) ||
        !['COMPOSITE', 'FULL_OBJECT'].includes(t) ||
        (t === 'FULL_OBJECT' && a.startsWith('sha')) ||
        (t === 'COMPOSITE' && a === 'crc64nvme')
      ) {
        throw invalidRequest(
          `The ${t} checksum type cannot be used with the ${a} checksum algorithm.`,
        );
      }
      Object.assign(ctx.headers, { 'x-amz-checksum-algorithm': a, [TYPE]: t });
      await initiate.call(this, ctx);
      ctx.set('x-amz-checksum-algorithm', a.toUpperCase());
      ctx.set(TYPE, t);
      return undefined;
    };

  // UploadPart: a part's checksum must use the upload's algorithm (400
  // InvalidRequest "Checksum Type mismatch"); one is required only for
  // COMPOSITE, S3 computes it for FULL_OBJECT. A CRC32C is verified against
  // the body (400 BadDigest) and answered in x-amz-checksum-crc32c.
  const uploadPart = objectController.uploadPart;
  objectController.uploadPart = async function uploadPartLikeS3(ctx) {
    await expectUpload(ctx);
    refuseTrailer(ctx);
    const { algorithm, type } = await uploadChecksum(ctx);
    const sent = bodyAlgorithm(ctx.headers);
    if (
      (sent && sent !== algorithm) ||
      (!sent && algorithm && type === 'COMPOSITE')
    ) {
      await readBody(ctx.req);
      throw invalidRequest(
        `Checksum Type mismatch occurred, expected checksum Type: ${
          algorithm || 'null'
        }, actual checksum Type: ${sent || 'null'}`,
      );
    }
    if (algorithm !== 'crc32c') return uploadPart.call(this, ctx);
    const body = await readBody(ctx.req);
    const crc = toBase64(crc32c(body));
    if (ctx.headers[CRC] !== undefined && ctx.headers[CRC] !== crc) {
      throw badDigest();
    }
    await withBody(ctx, body, () => uploadPart.call(this, ctx));
    await fsp.writeFile(partCrcFile(ctx, ctx.query.partNumber), crc);
    ctx.set(CRC, crc);
    return undefined;
  };

  // CompleteMultipartUpload of a CRC32C upload: the parts must be numbered
  // 1, 2, 3… (400 InvalidPartOrder); a part checksum given must be the
  // part's (400 InvalidPart), and COMPOSITE needs every one (400
  // InvalidRequest); x-amz-checksum-type, if sent, must be the upload's. The
  // object's CRC32C is FULL_OBJECT: that of all its bytes (computed here
  // from the bytes, not combined from the parts' CRCs, so the client's
  // combining is checked), or COMPOSITE: the CRC32C of the parts' CRC32Cs,
  // then `-<parts>`. A x-amz-checksum-crc32c sent must equal it (400
  // BadDigest). The answer carries ChecksumCRC32C and ChecksumType.
  const complete = objectController.completeMultipartUpload;
  objectController.completeMultipartUpload =
    async function completeMultipartUploadLikeS3(ctx) {
      await expectUpload(ctx);
      const { algorithm, type } = await uploadChecksum(ctx);
      const xml = await readBody(ctx.req);
      const asked = ctx.headers[TYPE];
      if (algorithm && asked && asked.toUpperCase() !== type) {
        throw invalidRequest(
          `The upload was created using the ${type} checksum mode. The complete request must use the same checksum mode.`,
        );
      }
      const parsed =
        xmlParser.validate(xml.toString('utf8')) === true
          ? xmlParser.parse(xml.toString('utf8'))
          : undefined;
      const listed = parsed?.CompleteMultipartUpload?.Part;
      let checksum;
      if (algorithm === 'crc32c' && listed) {
        const parts = [].concat(listed);
        const crcs = [];
        for (const [i, part] of parts.entries()) {
          const number = Number(part.PartNumber);
          if (number !== i + 1) {
            throw new S3Error(
              'InvalidPartOrder',
              'The list of parts was not in ascending order. Parts must be ordered by part number.',
            );
          }
          const stored = await fsp
            .readFile(partCrcFile(ctx, number), 'utf8')
            .catch(() => undefined);
          const given = part.ChecksumCRC32C;
          if (!given && type === 'COMPOSITE') {
            throw invalidRequest(
              `The upload was created using a crc32c checksum. The complete request must include the checksum for each part. It was missing for part ${number} in the request.`,
            );
          }
          if (!stored || (given && given !== stored)) {
            throw new S3Error(
              'InvalidPart',
              "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
            );
          }
          crcs.push(stored);
        }
        const value =
          type === 'FULL_OBJECT'
            ? toBase64(
                await crc32cOfFiles(
                  parts.map((_, i) =>
                    nodePath.join(uploadDir(ctx), `${i + 1}`),
                  ),
                ),
              )
            : `${toBase64(
                crc32c(Buffer.concat(crcs.map(c => Buffer.from(c, 'base64')))),
              )}-${parts.length}`;
        if (ctx.headers[CRC] !== undefined && ctx.headers[CRC] !== value) {
          throw badDigest();
        }
        checksum = { [CRC]: value, [TYPE]: type };
      }
      await withBody(ctx, xml, () => complete.call(this, ctx));
      await storeChecksum(
        ctx.store,
        ctx.params.bucket,
        ctx.params.key,
        checksum,
      );
      if (checksum) {
        Object.assign(ctx.body.CompleteMultipartUploadResult, {
          ChecksumCRC32C: checksum[CRC],
          ChecksumType: type,
        });
      }
      return undefined;
    };

  // CopyObject: S3 gives the copy a checksum of the algorithm
  // x-amz-checksum-algorithm names, else of the source's, computed on the
  // source's bytes (so a copy's CRC32C is FULL_OBJECT), and answers it in
  // CopyObjectResult. Here the source's algorithm is known only when s3rver
  // copied its metadata (no x-amz-metadata-directive: REPLACE).
  // (An algorithm named by the request spares reading the copy's metadata;
  // a small copy is hashed from one read: 2,000 copies of 4 KiB cost the
  // server a third more time than without a checksum before.)
  const copy = objectController.putObjectCopy;
  objectController.putObjectCopy = async function putObjectCopyLikeS3(ctx) {
    const named = ctx.headers['x-amz-checksum-algorithm'];
    await copy.call(this, ctx);
    const { bucket, key } = ctx.params;
    const wanted = named
      ? named.toLowerCase() === 'crc32c'
      : !!(await ctx.store.getMetadata(bucket, key))[CRC];
    let checksum;
    if (wanted) {
      const file = ctx.store.getResourcePath(bucket, key, 'object');
      const value = toBase64(await crc32cOfFile(file));
      checksum = { [CRC]: value, [TYPE]: 'FULL_OBJECT' };
      Object.assign(ctx.body.CopyObjectResult, {
        ChecksumCRC32C: value,
        ChecksumType: 'FULL_OBJECT',
      });
    }
    await storeChecksum(ctx.store, bucket, key, checksum);
  };

  // GetObject/HeadObject answer the object's checksum (x-amz-checksum-crc32c
  // and x-amz-checksum-type) only when asked with x-amz-checksum-mode:
  // ENABLED, and never for a range: it covers the whole object.
  const getObject = objectController.getObject;
  objectController.getObject = async function getObjectLikeS3(ctx) {
    await getObject.call(this, ctx);
    const mode = String(ctx.headers['x-amz-checksum-mode'] || '');
    if (mode.toUpperCase() !== 'ENABLED' || ctx.headers.range) {
      ctx.remove(CRC);
      ctx.remove(TYPE);
    }
  };

  // UploadPartCopy (s3rverPartCopy.js, once it has stored `data`, the
  // bytes copied, as part `number`): S3 computes the part's checksum of the
  // upload's algorithm and answers it in CopyPartResult. A CRC32C is kept
  // exactly as an uploaded part's (CompleteMultipartUpload checks and
  // combines it); other algorithms are answered only, as above. Returns
  // the CopyPartResult fields: { ChecksumCRC32C: … } or {}.
  async function partCopied(ctx, number, data) {
    const { algorithm } = await uploadChecksum(ctx);
    if (algorithm === 'crc32c') {
      const crc = toBase64(crc32c(data));
      await fsp.writeFile(partCrcFile(ctx, number), crc);
      return { ChecksumCRC32C: crc };
    }
    const value = algorithm && otherChecksum(algorithm, data);
    return value ? { [`Checksum${algorithm.toUpperCase()}`]: value } : {};
  }

  // ListObjects(V2): S3 lists each object's checksum algorithm and type
  // (ChecksumAlgorithm, ChecksumType), not the value.
  const getBucket = bucketController.getBucket;
  bucketController.getBucket = async function getBucketLikeS3(ctx) {
    const store = ctx.store;
    let listed;
    ctx.store = Object.create(store, {
      listObjects: {
        value: async (...args) => (listed = await store.listObjects(...args)),
      },
    });
    try {
      await getBucket.call(this, ctx);
    } finally {
      ctx.store = store;
    }
    const contents = ctx.body?.ListBucketResult?.Contents;
    (Array.isArray(contents) ? contents : []).forEach((entry, i) => {
      const metadata = listed?.objects[i]?.metadata;
      if (metadata?.[CRC]) {
        entry.ChecksumAlgorithm = 'CRC32C';
        entry.ChecksumType = metadata[TYPE];
      }
    });
  };

  return { partCopied };
};

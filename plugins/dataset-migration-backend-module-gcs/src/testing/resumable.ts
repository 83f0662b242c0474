import type http from 'node:http';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ExpectedHashes,
  GcsObjectResource,
  ObjectHashes,
  RunningHashes,
} from './gcsTestStore';
import { GcsHttpError, header, sendJson } from './http';

export interface ResumableSession {
  id: string;
  bucket: string;
  name: string;
  file: string;
  contentType?: string;
  /** Bytes durably received (only whole requests count here). */
  committed: number;
  /** Hashes of the committed bytes (GCS hashes an upload as it arrives). */
  hashes?: RunningHashes;
  total?: number;
  resource?: GcsObjectResource;
}

/**
 * One PUT to a resumable session: a chunk (`bytes a-b/total|*`), a streamed
 * rest (`bytes a-* /total`) or a status query (`bytes * /total|*`). Answers
 * 308 with `Range: bytes=0-n` while incomplete, the object when done.
 * Bytes of an interrupted request are discarded; the client re-sends them
 * after asking for the status, which is what real GCS lets it do.
 */
export async function handleResumablePut(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  session: ResumableSession,
  commit: (
    expected?: ExpectedHashes,
    hashed?: ObjectHashes,
  ) => Promise<GcsObjectResource>,
  faults: { finalizeEarly?: boolean } = {},
): Promise<GcsObjectResource | undefined> {
  const contentRange = header(req, 'content-range') ?? '';
  const m = /^bytes (\*|(\d+)-(\d+|\*))\/(\*|\d+)$/.exec(contentRange);
  if (!m) {
    req.resume();
    throw new GcsHttpError(400, `Bad Content-Range '${contentRange}'`);
  }
  if (session.resource) {
    req.resume();
    sendJson(res, 200, session.resource);
    return session.resource;
  }
  if (m[4] !== '*') {
    session.total = Number(m[4]);
  }
  if (m[1] !== '*') {
    const start = Number(m[2]);
    if (start > session.committed) {
      req.resume();
      throw new GcsHttpError(
        400,
        `Chunk starts at ${start} but only ${session.committed} bytes were received`,
      );
    }
    // Overlapping bytes the server already has are skipped.
    let skip = session.committed - start;
    let received = 0;
    // Forked: the bytes of a request that fails half-way are not committed.
    const hashes = (session.hashes ?? new RunningHashes()).copy();
    const skipper = new Transform({
      transform(chunk: Buffer, _e, cb) {
        if (skip >= chunk.length) {
          skip -= chunk.length;
          cb();
          return;
        }
        const rest = chunk.subarray(skip);
        skip = 0;
        received += rest.length;
        hashes.update(rest);
        cb(null, rest);
      },
    });
    await pipeline(
      req,
      skipper,
      createWriteStream(session.file, {
        flags: 'r+',
        start: session.committed,
      }),
    );
    session.committed += received;
    session.hashes = hashes;
    // `a-*` streams the rest of the object in this one request: its end is
    // the object's end.
    if (m[3] === '*') {
      session.total = session.committed;
    }
  } else {
    req.resume();
  }

  if (faults.finalizeEarly && session.committed > 0) {
    // A broken server: declares the object complete with what it has.
    session.total = session.committed;
  }
  if (session.total !== undefined && session.committed >= session.total) {
    await fs.truncate(session.file, session.total);
    const hashed =
      session.hashes?.size === session.total
        ? session.hashes.digest()
        : undefined;
    // The finalising request may carry the object's checksums.
    session.resource = await commit(expectedHashes(req), hashed);
    sendJson(res, 200, session.resource);
    return session.resource;
  }
  if (session.committed > 0) {
    res.setHeader('Range', `bytes=0-${session.committed - 1}`);
  }
  // Clients whose HTTP stack follows 308 as a redirect (Go) ask for a 200
  // that carries the real status in a header, as GCS offers.
  if (header(req, 'x-guploader-no-308') === 'yes') {
    res.setHeader('X-Http-Status-Code-Override', '308');
    res.writeHead(200, { 'Content-Length': '0' }).end();
    return undefined;
  }
  res.writeHead(308, { 'Content-Length': '0' }).end();
  return undefined;
}

/** `X-Goog-Hash: crc32c=…,md5=…` of a request, if any. */
function expectedHashes(req: http.IncomingMessage) {
  const value = header(req, 'x-goog-hash');
  if (!value) return undefined;
  const hashes: ExpectedHashes = {};
  for (const part of value.split(',')) {
    const at = part.indexOf('=');
    const key = part.slice(0, at).trim().toLowerCase();
    if (key === 'crc32c' || key === 'md5')
      hashes[key] = part.slice(at + 1).trim();
  }
  return hashes;
}

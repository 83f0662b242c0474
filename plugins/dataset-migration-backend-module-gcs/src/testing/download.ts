import { createReadStream } from 'node:fs';
import type http from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { GcsObjectResource } from './gcsTestStore';
import { header } from './http';

/** Answers `alt=media`, honouring single `Range: bytes=a-b` / `bytes=-n`. */
export async function sendObject(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  resource: GcsObjectResource,
  file: string,
) {
  const size = Number(resource.size);
  const headers: http.OutgoingHttpHeaders = {
    'Content-Type': resource.contentType,
    'x-goog-hash': `crc32c=${resource.crc32c},md5=${resource.md5Hash}`,
    'x-goog-generation': resource.generation,
    'x-goog-stored-content-encoding': 'identity',
    'x-goog-stored-content-length': resource.size,
    'Accept-Ranges': 'bytes',
  };
  let start = 0;
  let end = size - 1;
  let status = 200;
  const range = /^bytes=(\d*)-(\d*)$/.exec(header(req, 'range') ?? '');
  if (range && (range[1] || range[2])) {
    if (range[1]) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    } else {
      start = Math.max(0, size - Number(range[2]));
    }
    if (start >= size) {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
      return;
    }
    status = 206;
    headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  }
  headers['Content-Length'] = String(Math.max(0, end - start + 1));
  res.writeHead(status, headers);
  if (end < start) {
    res.end();
    return;
  }
  await pipeline(createReadStream(file, { start, end }), res);
}
